"""attention_scores: DNABERT-viz nucleotide attention of what the task head reads, one layer computed for it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .._docs import shared_docs
from ..core.encoder import cls_pass, mean_query_attention
from ..core.inference import DEFAULT_BATCH_SIZE, WindowOutputs, run_windows
from ..core.model import TOKEN_MEAN_POOLINGS, DNABERTModel, head_pooling
from ..dna.errors import InputFormatError
from ..io.sequences import SequencesLike


def _head_attention(layer: int, heads: Sequence[int] | None, width: int):
    """A batch function: the head's row of ``layer``'s attention, summed over ``heads``, padded to ``width`` columns.

    The row is [CLS]'s, or the mean of the k-mer rows for a mean-pooled head.
    """

    def attend(network: torch.nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        if head_pooling(network) in TOKEN_MEAN_POOLINGS:
            probabilities = mean_query_attention(network.base_model, input_ids, attention_mask, layer)
        else:
            _, probabilities = cls_pass(network.base_model, input_ids, attention_mask, layer)
        chosen = probabilities if heads is None else probabilities[:, list(heads)]
        row = chosen.float().sum(dim=1)
        return torch.nn.functional.pad(row, (0, width - row.shape[1]))

    return attend


def kmer_to_nucleotide(scores: np.ndarray, k: int) -> np.ndarray:
    """Spread k-mer scores to nucleotides: each nucleotide gets the mean of the k-mers covering it."""
    window = np.ones(k)
    return np.convolve(scores, window) / np.convolve(np.ones_like(scores), window)


def window_nucleotide_scores(result: WindowOutputs, token_scores: np.ndarray, k: int) -> list[np.ndarray]:
    """Per sequence, nucleotide scores from each window's k-mer scores (``token_scores``: a row per window,
    [CLS] first): each nucleotide the mean of the k-mers covering it, averaged over the windows covering it."""
    totals = [np.zeros(length) for length in result.lengths]
    counts = [np.zeros(length) for length in result.lengths]
    windows = result.windows
    for row, (index, start, end) in enumerate(zip(windows.sequence_index, windows.start, windows.end)):
        n_kmers = end - start - k + 1
        totals[index][start:end] += kmer_to_nucleotide(token_scores[row, 1 : 1 + n_kmers].astype(np.float64), k)
        counts[index][start:end] += 1
    return [total / count for total, count in zip(totals, counts)]


@shared_docs
def attention_scores(
    model: DNABERTModel,
    sequences: SequencesLike,
    *,
    layer: int = -1,
    heads: Sequence[int] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    precision: str | None = None,
    window_overlap: int | None = None,
    progress: bool = True,
) -> list[np.ndarray]:
    """Nucleotide-level attention of what the task head reads, by the DNABERT-viz recipe.

    For each sequence: the attention of [CLS] to every k-mer in ``layer``, summed over
    ``heads`` ([CLS] and [SEP] left out), each nucleotide the mean over the k-mers that cover
    it, then L2-normalised. A mean-pooled head (``finetune``'s default) reads every k-mer, so
    for it the [CLS] row is replaced by the mean of the k-mer query rows. Only the chosen
    layer's needed rows are computed (no ``output_attentions``). Sequences
    longer than one model input go through overlapping windows whose nucleotide scores are
    averaged where they overlap, before the normalisation.

    Parameters
    ----------
    model
        Any :class:`DNABERTModel` (fine-tuned ones show what the task head relies on).
    {sequences}
    layer
        Transformer layer, -1 the last (DNABERT-viz), 0 the first.
    heads
        Head indices to sum over; None sums all heads.
    {batch_size}
    {precision}
    {window_overlap}
    {progress}

    Returns
    -------
    list of ndarray
        One float32 array per sequence, as long as the sequence, unit L2 norm.
    """
    n_layers, n_heads = model.config.num_hidden_layers, model.config.num_attention_heads
    if not isinstance(layer, (int, np.integer)) or not -n_layers <= layer < n_layers:
        raise InputFormatError(f"layer = {layer!r}; use -{n_layers} to {n_layers - 1} (-1 is the last layer).")
    if heads is not None and (len(heads) == 0 or not all(0 <= h < n_heads for h in heads)):
        raise InputFormatError(f"heads = {heads!r}; give head indices from 0 to {n_heads - 1}, or None for all.")
    result = run_windows(
        model,
        sequences,
        _head_attention(int(layer), heads, model.tokenizer.max_kmers + 2),
        batch_size=batch_size,
        precision=precision,
        window_overlap=window_overlap,
        progress=progress,
        description="attention",
    )
    scores = []
    for score in window_nucleotide_scores(result, result.values, model.k):
        norm = np.linalg.norm(score)
        scores.append((score / norm if norm > 0 else score).astype(np.float32))
    return scores
