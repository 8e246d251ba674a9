"""The inference engine: sequences -> model-sized windows -> length-sorted batches -> one output row per window.

Every verb that runs a model (predict, embed, evaluate, attention_scores, and what builds on them)
goes through :func:`run_windows` with a batch function that turns one batch of model inputs into
one output row per input; :func:`average_windows` brings window rows back to one row per sequence.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import torch
from tqdm.auto import tqdm

from ..dna.errors import require_positive_integers
from ..io.sequences import SequencesLike, as_sequence_table
from .encoder import cls_pass, kmer_token_weights, supports_cls_pass
from .kmer_blend import blend_of
from .model import TOKEN_MEAN_POOLINGS, DNABERTModel, head_pooling
from .processes import Processes
from .runtime import resolve_precision
from .tokenizer import KmerTokenizer, Windows, pack_inputs

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


def default_window_overlap(tokenizer: KmerTokenizer) -> int:
    """The nucleotides neighbouring windows share when ``window_overlap`` is None: 100, or less for a short window."""
    return min(DEFAULT_WINDOW_OVERLAP, tokenizer.max_nucleotides - tokenizer.k)


def window_runs(
    tokenizer: KmerTokenizer, offsets: np.ndarray, window_overlap: int | None
) -> tuple[Windows, np.ndarray, np.ndarray]:
    """Cut sequences of back-to-back k-mer ids (``offsets`` as from ``kmer_ids``) into model inputs.

    ``window_overlap`` None shares 100 nt between neighbouring windows, or less where a window
    is shorter. Returns the windows and, per window, the start of its k-mer run and its length.
    """
    if window_overlap is None:
        window_overlap = default_window_overlap(tokenizer)
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
    window order. Under several processes (torchrun, ``accelerate launch``) each runs every n-th batch and every
    process gets all rows back.
    """
    require_positive_integers(batch_size=batch_size)
    table = as_sequence_table(sequences)
    tokenizer = model.tokenizer
    token_ids, offsets = tokenizer.kmer_ids(table.sequences, table.ids)
    lengths = np.diff(offsets) + tokenizer.k - 1
    windows, starts, counts = window_runs(tokenizer, offsets, window_overlap)

    processes = Processes(model.device)
    if processes.device != model.device:
        model.to(processes.device)  # several processes: each runs on the device its launcher gave it
    dtype = resolve_precision(precision or model.precision, model.device)
    network = model.inference_network(dtype)
    order = np.argsort(-counts, kind="stable")
    batches = [order[first : first + batch_size] for first in range(0, len(order), batch_size)]
    # one process: every batch; several: every n-th, each batch as one process makes it (int8 scales per batch)
    batches = [batches[index] for index in processes.shard(len(batches))]
    order = np.concatenate(batches) if batches else order[:0]
    outputs: list[torch.Tensor] = []
    show = progress and processes.is_main
    with (
        torch.inference_mode(),
        tqdm(total=len(order), desc=description, unit="seq", disable=not show, leave=False) as bar,
    ):
        for rows in batches:
            batch = pack_inputs(token_ids, starts[rows], counts[rows])
            input_ids = torch.from_numpy(batch["input_ids"]).to(model.device)
            attention_mask = torch.from_numpy(batch["attention_mask"]).to(model.device)
            outputs.append(batch_function(network, input_ids, attention_mask).float().cpu())
            bar.update(len(rows))
    mine = torch.cat(outputs).numpy() if outputs else None
    shards = processes.gather((order, mine))
    width = next(shard[1].shape[1] for shard in shards if shard[1] is not None)
    values = np.empty((len(counts), width), dtype=np.float32)
    for rows, shard_values in shards:
        if shard_values is not None:
            values[rows] = shard_values
    return WindowOutputs(table.ids, lengths, windows, values)


def substituted_outputs(
    model: DNABERTModel,
    texts: list[str],
    reference: WindowOutputs,
    substitutions: list[tuple[int, int, str]],
    *,
    batch_size: int,
    precision: str | None,
    progress: bool,
    description: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Outputs (probabilities, or regression values) of sequences that differ from ``texts`` by one base each.

    ``reference`` holds the per-window outputs of ``texts`` already turned into probabilities; each
    substitution ``(text index, 0-based position, base)`` re-runs only the windows that cover it, and the
    result is averaged over all windows of the mutated sequence as :func:`average_windows` averages them.
    Returns the averaged outputs of ``texts`` themselves (one row per text) and of the mutated sequences (one
    row per substitution), both in float64.
    """
    windows, window_values = reference.windows, reference.values
    n_windows = np.bincount(windows.sequence_index, minlength=len(texts))
    totals = np.zeros((len(texts), window_values.shape[1]))
    np.add.at(totals, windows.sequence_index, window_values)
    bounds = np.searchsorted(windows.sequence_index, np.arange(len(texts) + 1))  # windows come in sequence order
    rows = []  # (substitution, window, the window's mutated text)
    for index, (parent, position, base) in enumerate(substitutions):
        text = texts[parent]
        for w in range(bounds[parent], bounds[parent + 1]):
            start, end = windows.start[w], windows.end[w]
            if start <= position < end:
                rows.append((index, w, text[start:position] + base + text[position + 1 : end]))
    parent_of = np.array([substitution[0] for substitution in substitutions], dtype=np.int64).reshape(-1)
    mutant_totals = totals[parent_of]  # the parent's windows, then the re-run ones swapped in
    if rows:
        changed = run_windows(
            model,
            [row[2] for row in rows],
            logits,
            batch_size=batch_size,
            precision=precision,
            window_overlap=0,
            progress=progress,
            description=description,
        )
        swap = to_probabilities(model.task, changed.values) - window_values[[row[1] for row in rows]]
        np.add.at(mutant_totals, [row[0] for row in rows], swap)
    return totals / n_windows[:, None], mutant_totals / n_windows[parent_of][:, None]


def token_mean(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """(batch, hidden) mean of each input's k-mer token vectors: [CLS], [SEP] and padding left out; summed in fp32
    whatever ``hidden``'s dtype (a bf16 sum of hundreds of tokens keeps three significant digits)."""
    weights = kmer_token_weights(attention_mask).unsqueeze(-1).to(torch.float32)
    return (hidden.float() * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1)


def layers_mean(hidden_states: tuple[torch.Tensor, ...], layers: list[int] | None = None) -> torch.Tensor:
    """The mean of the hidden states ``layers`` (0: the embeddings, ``i``: layer ``i``'s output; None: every one),
    token by token, in fp32 (summed one at a time: no stacked fp32 copy of every hidden state)."""
    chosen = hidden_states if layers is None else [hidden_states[i] for i in layers]
    return sum(hidden.float() for hidden in chosen) / len(chosen)


def token_vectors(network: torch.nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """(batch, length, hidden): the vectors a token-mean head averages, the last layer's or (``"layers_mean"``)
    the mean of the hidden states its config's ``classifier_layers`` lists (None or absent: every one)."""
    every_layer = head_pooling(network) == "layers_mean"
    output = network.bert(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=every_layer)
    if not every_layer:
        return output.last_hidden_state
    return layers_mean(output.hidden_states, getattr(network.config, "classifier_layers", None))


def logits(network: torch.nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Classifier/regressor outputs of the [CLS] head (last layer computed for [CLS] only) or a token-mean head;
    a network blended with k-mer counts (:mod:`.kmer_blend`) gives the blend's log class probabilities."""
    blend = blend_of(network)
    outputs = head_outputs(network, input_ids, attention_mask)
    return outputs if blend is None else blend(outputs, input_ids, attention_mask)


def head_outputs(network: torch.nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """The network's own head outputs (:func:`logits` without a k-mer blend)."""
    if head_pooling(network) in TOKEN_MEAN_POOLINGS:
        pooled = token_mean(token_vectors(network, input_ids, attention_mask), attention_mask)
        pooled = pooled.to(network.bert.pooler.dense.weight.dtype)  # a cast network's dtype (autocast sees to fp32)
    elif supports_cls_pass(network):
        pooled, _ = cls_pass(network.bert, input_ids, attention_mask)
    else:
        return network(input_ids=input_ids, attention_mask=attention_mask).logits
    return network.classifier(network.dropout(network.bert.pooler(pooled[:, None])))


def log_odds(probabilities: np.ndarray) -> np.ndarray:
    """``log(p / (1 - p))``, with p kept within 1e-7 of 0 and 1 so that certain outputs stay finite."""
    clipped = np.clip(probabilities, 1e-7, 1 - 1e-7)
    return np.log(clipped / (1 - clipped))


def to_probabilities(task: str, logits: np.ndarray) -> np.ndarray:
    """Class probabilities (softmax), label probabilities (sigmoid) or values (identity)."""
    if task == "classification":
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)
    if task == "multilabel":
        return 1.0 / (1.0 + np.exp(-logits))
    return logits
