"""predict and embed: one row per sequence from a model's task head, or one vector per sequence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from .._docs import shared_docs
from ..dna.alphabet import normalise, reverse_complement
from ..dna.errors import InputFormatError, ModelTaskError
from ..io.sequences import SequencesLike, as_sequence_table
from .inference import (
    DEFAULT_BATCH_SIZE,
    BatchFunction,
    WindowOutputs,
    average_windows,
    layers_mean,
    logits,
    run_windows,
    to_probabilities,
    token_mean,
)
from .model import DNABERTModel


def output_column(task: str, labels: list[str], name: str) -> str:
    """The column of :func:`predict`'s table holding output ``name``: ``prob_<name>``, or ``value`` /
    ``value_<name>`` for regression."""
    if task == "regression":
        return "value" if len(labels) == 1 else f"value_{name}"
    return f"prob_{name}"


def output_index(labels: list[str], name: object) -> int | None:
    """The index of the output ``name`` names (a label, or an index into ``labels``); None if it names none."""
    if isinstance(name, (int, np.integer)) and not isinstance(name, bool) and 0 <= name < len(labels):
        return int(name)
    return labels.index(str(name)) if str(name) in labels else None


def target_column(model: DNABERTModel, target: str | int | None) -> int | None:
    """The output index ``target`` names (a label or an index); None: chosen per sequence later."""
    if target is None:
        return 0 if model.task == "regression" else None
    column = output_index(model.labels, target)
    if column is not None:
        return column
    raise InputFormatError(f"target = {target!r} is not one of the model's outputs {model.labels} (or their index).")


def result_frame(task: str, labels: list[str], values: np.ndarray, front: dict) -> pd.DataFrame:
    """Label, score and per-label columns from averaged outputs."""
    frame = pd.DataFrame(front)
    if task == "regression":
        for column, name in enumerate(labels):
            frame[output_column(task, labels, name)] = values[:, column]
        return frame
    if task == "classification":
        best = values.argmax(axis=1)
        frame["label"] = np.asarray(labels, dtype=object)[best]
        frame["score"] = values[np.arange(len(values)), best]
    else:
        chosen = values >= 0.5
        frame["label"] = [",".join(np.asarray(labels)[row]) for row in chosen]
        frame["score"] = values.max(axis=1)
    for column, name in enumerate(labels):
        frame[output_column(task, labels, name)] = values[:, column]
    return frame


@shared_docs
def predict(
    model: DNABERTModel,
    sequences: SequencesLike,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    precision: str | None = None,
    window_overlap: int | None = None,
    return_windows: bool = False,
    both_strands: bool = False,
    progress: bool = True,
) -> pd.DataFrame:
    """Predict with a model that has a task head; one row per input sequence.

    Parameters
    ----------
    model
        A :class:`DNABERTModel` with a classification or regression head.
    {sequences}
    {batch_size}
    {precision}
    {window_overlap}
        A sequence longer than one model input is predicted window by window and its class
        probabilities (or regression values) are averaged over its windows.
    return_windows
        Return one row per window instead (columns ``window``, ``start``, ``end``,
        0-based end-exclusive nucleotide coordinates), before averaging.
    both_strands
        Also read each sequence's reverse complement and average the two strands' probabilities (or values):
        one call for a sequence and its reverse complement, as a peak of arbitrary strand needs. Twice the
        work; not with ``return_windows``.
    {progress}

    Returns
    -------
    DataFrame
        ``id``, ``length``, ``label`` (class name), ``score`` (probability of that
        class) and ``prob_<label>`` per class. Multi-label: ``label`` lists the labels
        with probability >= 0.5. Regression: ``value`` (or ``value_<name>``) instead.
    """
    if model.task is None:
        raise ModelTaskError(
            "This model has no task head, so it cannot predict labels. Fine-tune it (dn.finetune), "
            "or load it with num_labels=... / labels=[...] to add a head; use dn.embed for embeddings."
        )
    if both_strands and return_windows:
        raise InputFormatError("both_strands=True averages whole sequences; ask for return_windows without it.")
    options = {"batch_size": batch_size, "precision": precision, "window_overlap": window_overlap}
    if both_strands:
        result, values = strand_mean(model, sequences, logits, model.task, progress=progress, **options)
        return result_frame(model.task, model.labels, values, {"id": result.ids, "length": result.lengths})
    result = run_windows(model, sequences, logits, progress=progress, description="predict", **options)
    per_window = to_probabilities(model.task, result.values)
    if return_windows:
        w = result.windows
        front = {
            "id": np.asarray(result.ids, dtype=object)[w.sequence_index],
            "window": np.arange(len(w.start)) - np.searchsorted(w.sequence_index, w.sequence_index),
            "start": w.start,
            "end": w.end,
        }
        return result_frame(model.task, model.labels, per_window, front)
    averaged = average_windows(result.windows, per_window, len(result.ids))
    return result_frame(model.task, model.labels, averaged, {"id": result.ids, "length": result.lengths})


def _pooled(pooling: str, layer: int | str) -> BatchFunction:
    """A batch function that pools one layer's hidden states (``"all"``: their mean; ``"each"``: every one, side by
    side) to one vector per input."""

    def pool_one(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return hidden[:, 0] if pooling == "cls" else token_mean(hidden, attention_mask)

    def pool(network: torch.nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        encoder = network.base_model
        wants_all = layer != -1
        output = encoder(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=wants_all)
        if layer == "each":
            return torch.cat([pool_one(hidden, attention_mask) for hidden in output.hidden_states], dim=1)
        if layer == "all":
            hidden = layers_mean(output.hidden_states)
        else:
            hidden = output.hidden_states[layer] if wants_all else output.last_hidden_state
        return pool_one(hidden, attention_mask)

    return pool


@shared_docs
def embed(
    model: DNABERTModel,
    sequences: SequencesLike,
    *,
    pooling: str = "cls",
    layer: int | str = -1,
    batch_size: int = DEFAULT_BATCH_SIZE,
    precision: str | None = None,
    window_overlap: int | None = None,
    both_strands: bool = False,
    progress: bool = True,
) -> np.ndarray:
    """Embed sequences as fixed-size vectors from the encoder's hidden states.

    Parameters
    ----------
    model
        Any :class:`DNABERTModel` (a task head is not used).
    {sequences}
    pooling
        ``"cls"``: the [CLS] token's vector; ``"mean"``: the mean over k-mer tokens,
        leaving out [CLS], [SEP] and padding.
    layer
        Which hidden state: -1 is the last layer, 0 the embedding layer, ``i`` the
        output of transformer layer ``i``; ``"all"`` the mean of every one of them; ``"each"``
        every one of them, side by side (what ``finetune``'s linear probe chooses from).
    {batch_size}
    {precision}
    {window_overlap}
        A sequence longer than one model input is the mean of its windows' vectors.
    both_strands
        The mean of the sequence's and its reverse complement's vectors. Twice the work.
    {progress}

    Returns
    -------
    ndarray of float32
        Shape (n_sequences, hidden_size); with ``layer="each"``, (n_sequences, n_layers + 1, hidden_size).
    """
    if pooling not in ("cls", "mean"):
        raise InputFormatError(f"pooling = {pooling!r}; use 'cls' or 'mean'.")
    n_layers = model.config.num_hidden_layers
    named = isinstance(layer, str) and layer in ("all", "each")
    if not named and (not isinstance(layer, (int, np.integer)) or not -(n_layers + 1) <= layer <= n_layers):
        raise InputFormatError(
            f"layer = {layer!r} is out of range for a {n_layers}-layer model; use -1 (last), 0 to {n_layers}, "
            "'all' (the mean of every hidden state) or 'each' (every one, side by side)."
        )
    pooled = _pooled(pooling, layer if named else int(layer))
    options = {"batch_size": batch_size, "precision": precision, "window_overlap": window_overlap}
    if both_strands:
        vectors = strand_mean(model, sequences, pooled, None, progress=progress, **options)[1]
    else:
        result = run_windows(model, sequences, pooled, progress=progress, description="embed", **options)
        vectors = average_windows(result.windows, result.values, len(result.ids))
    return vectors.reshape(len(vectors), n_layers + 1, -1) if layer == "each" else vectors


def strand_mean(
    model: DNABERTModel,
    sequences: SequencesLike,
    batch_function: BatchFunction,
    task: str | None,
    *,
    progress: bool,
    **options: object,
) -> tuple[WindowOutputs, np.ndarray]:
    """Each sequence's outputs averaged over its windows and over both strands (its reverse complement run as a
    sequence of its own), as probabilities for a ``task`` (None: as they come); and the forward run."""
    table = as_sequence_table(sequences)
    forward = normalise(table.sequences, table.ids)  # a bad letter is named at its place on the given strand
    runs = []
    for strand, texts in (("forward", forward), ("reverse", [reverse_complement(text) for text in forward])):
        frame = pd.DataFrame({"id": table.ids, "sequence": texts})
        result = run_windows(model, frame, batch_function, progress=progress, description=strand, **options)
        values = result.values if task is None else to_probabilities(task, result.values)
        runs.append((result, average_windows(result.windows, values, len(result.ids))))
    return runs[0][0], (runs[0][1] + runs[1][1]) / 2
