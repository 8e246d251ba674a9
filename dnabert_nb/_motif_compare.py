"""compare_motifs: Tomtom-like matching of a PFM against JASPAR (column correlation, all offsets, both strands)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._errors import InputFormatError
from ._pwm import check_pfm

#: Aligned columns needed before an offset counts.
MIN_OVERLAP = 5
#: Column-shuffled copies of the query that make the null distribution.
NULL_SHUFFLES = 20


def _probabilities(pfm: pd.DataFrame) -> np.ndarray:
    check_pfm(pfm)
    counts = pfm.to_numpy(dtype=float) + 0.01
    return counts / counts.sum(axis=1, keepdims=True)


def _standardise(columns: np.ndarray) -> np.ndarray:
    """Centre and scale each column (row of length 4) so that a dot product / 4 is Pearson's r."""
    centred = columns - columns.mean(axis=-1, keepdims=True)
    spread = np.sqrt((centred**2).mean(axis=-1, keepdims=True))
    return centred / np.where(spread > 0, spread, 1)


def _reverse_complement(matrix: np.ndarray) -> np.ndarray:
    return matrix[::-1, ::-1]  # reverse positions; A C G T → T G C A


def _best_alignments(query: np.ndarray, targets: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best summed column correlation of ``query`` against every target over all offsets; and that offset.

    ``targets`` is (n, Lmax, 4) standardised, padded; ``valid`` (n, Lmax) marks real columns.
    """
    n_query = len(query)
    correlation = np.einsum("qb,nlb->nql", query, targets) / 4  # (n, Lq, Lmax)
    best = np.full(len(targets), -np.inf)
    best_offset = np.zeros(len(targets), dtype=int)
    rows = np.arange(n_query)
    for offset in range(-(n_query - MIN_OVERLAP), targets.shape[1] - MIN_OVERLAP + 1):
        columns = rows + offset
        inside = (columns >= 0) & (columns < targets.shape[1])
        aligned = correlation[:, rows[inside], columns[inside]]  # (n, overlap)
        real = valid[:, columns[inside]]
        overlap = real.sum(axis=1)
        score = np.where(overlap >= MIN_OVERLAP, (aligned * real).sum(axis=1), -np.inf)
        better = score > best
        best[better], best_offset[better] = score[better], offset
    return best, best_offset


def compare_motifs(pfm: pd.DataFrame, database: dict[str, pd.DataFrame] | None = None, top: int = 5,
                   *, seed: int = 0) -> pd.DataFrame:
    """Match a PFM against a motif database, Tomtom-like.

    The score of an alignment is the sum of the Pearson correlations of aligned columns (at
    least 5 columns overlapping), maximised over all offsets and both strands of the query. The
    p-value is empirical: the fraction of scores of 20 column-shuffled copies of the query
    (scored the same way) against every database motif that reach the observed score;
    E = p × database size.

    Parameters
    ----------
    pfm
        Positions × ``A C G T`` (counts or probabilities).
    database
        Matrix id → PFM DataFrame (with ``.attrs["name"]``); None uses the shipped JASPAR 2026
        CORE vertebrates (:func:`dnabert_nb.datasets.jaspar`).
    top
        Rows to return.
    seed
        Seeds the column shuffles of the null.

    Returns
    -------
    DataFrame
        ``id``, ``name``, ``score`` (summed column correlation), ``offset`` (query position 0
        against this target position), ``strand`` (``+`` or ``-`` for the query's reverse
        complement), ``p_value``, ``e_value``; best first.
    """
    if database is None:
        from .datasets import jaspar

        database = jaspar()
    query = _standardise(_probabilities(pfm))
    if len(query) < MIN_OVERLAP:
        raise InputFormatError(f"The PFM has {len(query)} positions; comparing needs at least {MIN_OVERLAP}.")
    ids = list(database)
    longest = max(len(matrix) for matrix in database.values())
    targets = np.zeros((len(ids), longest, 4))
    valid = np.zeros((len(ids), longest), dtype=bool)
    for row, matrix_id in enumerate(ids):
        columns = _standardise(_probabilities(database[matrix_id]))
        targets[row, : len(columns)], valid[row, : len(columns)] = columns, True
    forward, forward_offset = _best_alignments(query, targets, valid)
    reverse, reverse_offset = _best_alignments(_reverse_complement(query), targets, valid)
    score = np.maximum(forward, reverse)
    rng = np.random.default_rng(seed)
    null = []
    for _ in range(NULL_SHUFFLES):  # scored like the query: best offset, better strand
        shuffled = query[rng.permutation(len(query))]
        null.append(np.maximum(_best_alignments(shuffled, targets, valid)[0],
                               _best_alignments(_reverse_complement(shuffled), targets, valid)[0]))
    null = np.concatenate(null)
    null = np.sort(null)
    p_value = (1 + len(null) - np.searchsorted(null, score, side="left")) / (1 + len(null))
    table = pd.DataFrame({
        "id": ids,
        "name": [database[i].attrs.get("name", i) for i in ids],
        "score": score,
        "offset": np.where(forward >= reverse, forward_offset, reverse_offset),
        "strand": np.where(forward >= reverse, "+", "-"),
        "p_value": p_value,
        "e_value": p_value * len(ids),
    })
    return table.sort_values(["score", "id"], ascending=[False, True], ignore_index=True).head(top)
