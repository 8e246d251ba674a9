"""compare_motifs: Tomtom-like matching of a PFM against JASPAR (column correlation, all offsets, both strands)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from .._deprecation import positional_options
from .._docs import shared_docs
from ..dna.errors import InputFormatError
from ..dna.pfm import probabilities, reverse_complement

#: Added to every count before columns are compared (a small one: it only keeps zero columns apart).
PSEUDOCOUNT = 0.01
#: Aligned columns needed before an offset counts.
MIN_OVERLAP = 5
#: Column-shuffled copies of the query that make the null distribution.
NULL_SHUFFLES = 20
#: Queries aligned at once (bounds the correlation array to about 50 MB against JASPAR).
QUERY_CHUNK = 8


def _standardise(columns: np.ndarray) -> np.ndarray:
    """Centre and scale each column (row of length 4) so that a dot product / 4 is Pearson's r."""
    centred = columns - columns.mean(axis=-1, keepdims=True)
    spread = np.sqrt((centred**2).mean(axis=-1, keepdims=True))
    return centred / np.where(spread > 0, spread, 1)


def _best_alignments(queries: np.ndarray, targets: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best summed column correlation of each query against every target over all offsets; and that offset.

    ``queries`` is (m, Lq, 4) standardised, all of one length; ``targets`` is (n, Lmax, 4)
    standardised, padded; ``valid`` (n, Lmax) marks real columns. Returns two (m, n) arrays.
    """
    n_query = queries.shape[1]
    correlation = np.einsum("mqb,nlb->mnql", queries, targets) / 4  # (m, n, Lq, Lmax)
    best = np.full(correlation.shape[:2], -np.inf)
    best_offset = np.zeros(correlation.shape[:2], dtype=int)
    rows = np.arange(n_query)
    for offset in range(-(n_query - MIN_OVERLAP), targets.shape[1] - MIN_OVERLAP + 1):
        columns = rows + offset
        inside = (columns >= 0) & (columns < targets.shape[1])
        aligned = correlation[:, :, rows[inside], columns[inside]]  # (m, n, overlap)
        real = valid[:, columns[inside]]
        overlap = real.sum(axis=1)
        score = np.where(overlap >= MIN_OVERLAP, (aligned * real).sum(axis=2), -np.inf)
        better = score > best
        best[better], best_offset[better] = score[better], offset
    return best, best_offset


class MotifDatabase(NamedTuple):
    """Database motifs as arrays, prepared once for many comparisons."""

    ids: list
    names: list
    targets: np.ndarray
    valid: np.ndarray


def prepare_database(database: dict[str, pd.DataFrame] | None = None) -> MotifDatabase:
    """Standardised, padded columns of every database PFM (None: the shipped JASPAR matrices)."""
    if database is None:
        from ..datasets import jaspar

        database = jaspar()
    ids = list(database)
    longest = max(len(matrix) for matrix in database.values())
    targets = np.zeros((len(ids), longest, 4))
    valid = np.zeros((len(ids), longest), dtype=bool)
    for row, matrix_id in enumerate(ids):
        columns = _standardise(probabilities(database[matrix_id], pseudocount=PSEUDOCOUNT).to_numpy())
        targets[row, : len(columns)], valid[row, : len(columns)] = columns, True
    return MotifDatabase(ids, [database[i].attrs.get("name", i) for i in ids], targets, valid)


@positional_options(1, "database", "top")
@shared_docs
def compare_motifs(
    pfm: pd.DataFrame, *, database: dict[str, pd.DataFrame] | MotifDatabase | None = None, top: int = 5, seed: int = 0
) -> pd.DataFrame:
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
        Matrix id → PFM DataFrame (with ``.attrs["name"]``), or :func:`prepare_database`'s
        result to compare many PFMs against one database; None uses the shipped JASPAR 2026
        CORE vertebrates (:func:`dnabert_nb.datasets.jaspar`).
    top
        Rows to return.
    {seed}
        Here: the column shuffles of the null.

    Returns
    -------
    DataFrame
        ``id``, ``name``, ``score`` (summed column correlation), ``offset`` (query position 0
        against this target position), ``strand`` (``+`` or ``-`` for the query's reverse
        complement), ``p_value``, ``e_value``; best first.
    """
    prepared = database if isinstance(database, MotifDatabase) else prepare_database(database)
    query = _standardise(probabilities(pfm, pseudocount=PSEUDOCOUNT).to_numpy())
    if len(query) < MIN_OVERLAP:
        raise InputFormatError(f"The PFM has {len(query)} positions; comparing needs at least {MIN_OVERLAP}.")
    rng = np.random.default_rng(seed)
    shuffled = np.stack([query] + [query[rng.permutation(len(query))] for _ in range(NULL_SHUFFLES)])
    both_strands = np.concatenate([shuffled, reverse_complement(shuffled)])  # forward copies, then reverse
    parts = [
        _best_alignments(both_strands[first : first + QUERY_CHUNK], prepared.targets, prepared.valid)
        for first in range(0, len(both_strands), QUERY_CHUNK)
    ]
    best, offsets = (np.concatenate(arrays) for arrays in zip(*parts))
    forward, reverse = best[0], best[NULL_SHUFFLES + 1]
    score = np.maximum(forward, reverse)
    null = np.sort(np.maximum(best[1 : NULL_SHUFFLES + 1], best[NULL_SHUFFLES + 2 :]).ravel())  # scored like the query
    p_value = (1 + len(null) - np.searchsorted(null, score, side="left")) / (1 + len(null))
    table = pd.DataFrame(
        {
            "id": prepared.ids,
            "name": prepared.names,
            "score": score,
            "offset": np.where(forward >= reverse, offsets[0], offsets[NULL_SHUFFLES + 1]),
            "strand": np.where(forward >= reverse, "+", "-"),
            "p_value": p_value,
            "e_value": p_value * len(prepared.ids),
        }
    )
    return table.sort_values(["score", "id"], ascending=[False, True], ignore_index=True).head(top)
