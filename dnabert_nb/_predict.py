"""predict and embed: windows for long sequences, length-sorted batches, precision policy."""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from ._encoder import cls_pass, supports_cls_pass
from ._errors import InputFormatError, ModelTaskError, require_positive_integers
from ._io import SequencesLike, as_sequence_table
from ._model import DNABERTModel
from ._runtime import resolve_precision
from ._tokenizer import KmerTokenizer, Windows, pack_inputs

DEFAULT_BATCH_SIZE = 32
DEFAULT_WINDOW_OVERLAP = 100

#: Turns one batch of model inputs (on the device) into one output row per input.
BatchFunction = Callable[[torch.nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]


class WindowOutputs(NamedTuple):
    """Per-window outputs of a model over a set of sequences, with the windows' coordinates."""

    ids: list
    lengths: np.ndarray
    windows: Windows
    values: np.ndarray


def average_windows(windows: Windows, values: np.ndarray, n_sequences: int) -> np.ndarray:
    """Average window rows of ``values`` per sequence: one row per input sequence."""
    totals = np.zeros((n_sequences, values.shape[1]), dtype=np.float64)
    np.add.at(totals, windows.sequence_index, values)
    counts = np.bincount(windows.sequence_index, minlength=n_sequences)[:, None]
    return (totals / counts).astype(np.float32)


def window_runs(
    tokenizer: KmerTokenizer, offsets: np.ndarray, window_overlap: int | None
) -> tuple[Windows, np.ndarray, np.ndarray]:
    """Cut sequences of back-to-back k-mer ids (``offsets`` as from ``kmer_ids``) into model inputs.

    ``window_overlap`` None shares 100 nt between neighbouring windows, or less where a window
    is shorter. Returns the windows and, per window, the start of its k-mer run and its length.
    """
    if window_overlap is None:
        window_overlap = min(DEFAULT_WINDOW_OVERLAP, tokenizer.max_nucleotides - tokenizer.k)
    windows = tokenizer.windows(np.diff(offsets) + tokenizer.k - 1, overlap=window_overlap)
    starts = offsets[windows.sequence_index] + windows.start
    counts = windows.end - windows.start - tokenizer.k + 1
    return windows, starts, counts


def run_windows(
    model: DNABERTModel,
    sequences: SequencesLike,
    batch_function: BatchFunction,
    *,
    batch_size: int,
    precision: str | None,
    window_overlap: int | None,
    progress: bool,
    description: str,
) -> WindowOutputs:
    """Run ``batch_function`` over every model-sized window of every sequence.

    Sequences are validated and tokenised at once, cut into windows of at most one model
    input (``tokenizer.max_kmers`` k-mers), sorted by length so that batches carry the least padding, and run under
    ``torch.inference_mode`` in the resolved precision. Output rows come back in
    window order.
    """
    require_positive_integers(batch_size=batch_size)
    table = as_sequence_table(sequences)
    tokenizer = model.tokenizer
    token_ids, offsets = tokenizer.kmer_ids(table.sequences, table.ids)
    lengths = np.diff(offsets) + tokenizer.k - 1
    windows, starts, counts = window_runs(tokenizer, offsets, window_overlap)

    dtype = resolve_precision(precision or model.precision, model.device)
    network = model.inference_network(dtype)
    order = np.argsort(-counts, kind="stable")
    outputs: list[torch.Tensor] = []
    with torch.inference_mode(), tqdm(
        total=len(order), desc=description, unit="seq", disable=not progress, leave=False
    ) as bar:
        for first in range(0, len(order), batch_size):
            rows = order[first : first + batch_size]
            batch = pack_inputs(token_ids, starts[rows], counts[rows])
            input_ids = torch.from_numpy(batch["input_ids"]).to(model.device)
            attention_mask = torch.from_numpy(batch["attention_mask"]).to(model.device)
            outputs.append(batch_function(network, input_ids, attention_mask).float().cpu())
            bar.update(len(rows))
    values = np.empty((len(order), outputs[0].shape[1]), dtype=np.float32)
    values[order] = torch.cat(outputs).numpy()
    return WindowOutputs(table.ids, lengths, windows, values)


def _logits(network: torch.nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Classifier/regressor outputs; the last layer is computed for the [CLS] query only."""
    if not supports_cls_pass(network):
        return network(input_ids=input_ids, attention_mask=attention_mask).logits
    cls_hidden, _ = cls_pass(network.bert, input_ids, attention_mask)
    return network.classifier(network.dropout(network.bert.pooler(cls_hidden[:, None])))


def _to_probabilities(task: str, logits: np.ndarray) -> np.ndarray:
    """Class probabilities (softmax), label probabilities (sigmoid) or values (identity)."""
    if task == "classification":
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)
    if task == "multilabel":
        return 1.0 / (1.0 + np.exp(-logits))
    return logits


def _result_frame(task: str, labels: list[str], values: np.ndarray, front: dict) -> pd.DataFrame:
    """Label, score and per-label columns from averaged outputs."""
    frame = pd.DataFrame(front)
    if task == "regression":
        names = ["value"] if len(labels) == 1 else [f"value_{name}" for name in labels]
        for column, name in enumerate(names):
            frame[name] = values[:, column]
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
        frame[f"prob_{name}"] = values[:, column]
    return frame


def predict(
    model: DNABERTModel,
    sequences: SequencesLike,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    precision: str | None = None,
    window_overlap: int | None = None,
    return_windows: bool = False,
    progress: bool = True,
) -> pd.DataFrame:
    """Predict with a model that has a task head; one row per input sequence.

    Parameters
    ----------
    model
        A :class:`DNABERTModel` with a classification or regression head.
    sequences
        A str, list of str, Series, DataFrame with ``sequence`` (and optional ``id``), or FASTA path.
    batch_size
        Windows per forward pass.
    precision
        ``"auto"`` (bf16 where fast, else fp32), ``"fp32"``, ``"bf16"``, ``"fp16"``;
        None uses the model's default (``load(precision=...)``).
    window_overlap
        Nucleotides shared by neighbouring windows of a sequence longer than one model
        input (``model.tokenizer.max_nucleotides``: 515 nt for DNABERT-6). Such a sequence
        is predicted window by window and its class probabilities (or regression values)
        are averaged over its windows. None: 100 nt, or less where a window is shorter.
    return_windows
        Return one row per window instead (columns ``window``, ``start``, ``end``,
        0-based end-exclusive nucleotide coordinates), before averaging.
    progress
        Show a progress bar.

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
    result = run_windows(
        model,
        sequences,
        _logits,
        batch_size=batch_size,
        precision=precision,
        window_overlap=window_overlap,
        progress=progress,
        description="predict",
    )
    per_window = _to_probabilities(model.task, result.values)
    if return_windows:
        w = result.windows
        front = {
            "id": np.asarray(result.ids, dtype=object)[w.sequence_index],
            "window": np.arange(len(w.start)) - np.searchsorted(w.sequence_index, w.sequence_index),
            "start": w.start,
            "end": w.end,
        }
        return _result_frame(model.task, model.labels, per_window, front)
    averaged = average_windows(result.windows, per_window, len(result.ids))
    return _result_frame(model.task, model.labels, averaged, {"id": result.ids, "length": result.lengths})


def _pooled(pooling: str, layer: int) -> BatchFunction:
    """A batch function that pools one layer's hidden states to one vector per input."""

    def pool(network: torch.nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        encoder = network.base_model
        wants_all = layer != -1
        output = encoder(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=wants_all)
        hidden = output.hidden_states[layer] if wants_all else output.last_hidden_state
        if pooling == "cls":
            return hidden[:, 0]
        tokens = attention_mask.clone()
        tokens[:, 0] = 0
        tokens[torch.arange(len(tokens)), attention_mask.sum(dim=1) - 1] = 0  # [SEP]
        weights = tokens.unsqueeze(-1).to(hidden.dtype)
        return (hidden * weights).sum(dim=1) / weights.sum(dim=1)

    return pool


def embed(
    model: DNABERTModel,
    sequences: SequencesLike,
    *,
    pooling: str = "cls",
    layer: int = -1,
    batch_size: int = DEFAULT_BATCH_SIZE,
    precision: str | None = None,
    window_overlap: int | None = None,
    progress: bool = True,
) -> np.ndarray:
    """Embed sequences as fixed-size vectors from the encoder's hidden states.

    Parameters
    ----------
    model
        Any :class:`DNABERTModel` (a task head is not used).
    sequences
        As in :func:`predict`.
    pooling
        ``"cls"``: the [CLS] token's vector; ``"mean"``: the mean over k-mer tokens,
        leaving out [CLS], [SEP] and padding.
    layer
        Which hidden state: -1 is the last layer, 0 the embedding layer, ``i`` the
        output of transformer layer ``i``.
    batch_size, precision, window_overlap, progress
        As in :func:`predict`; a sequence longer than one window is the mean of its windows' vectors.

    Returns
    -------
    ndarray of float32, shape (n_sequences, hidden_size)
    """
    if pooling not in ("cls", "mean"):
        raise InputFormatError(f"pooling = {pooling!r}; use 'cls' or 'mean'.")
    n_layers = model.config.num_hidden_layers
    if not isinstance(layer, (int, np.integer)) or not -(n_layers + 1) <= layer <= n_layers:
        raise InputFormatError(
            f"layer = {layer!r} is out of range for a {n_layers}-layer model; use -1 (last) or 0 to {n_layers}."
        )
    result = run_windows(
        model,
        sequences,
        _pooled(pooling, int(layer)),
        batch_size=batch_size,
        precision=precision,
        window_overlap=window_overlap,
        progress=progress,
        description="embed",
    )
    return average_windows(result.windows, result.values, len(result.ids))
