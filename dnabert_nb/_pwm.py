"""Position weight matrices: log-odds from PFMs and best-match scanning of sequences on both strands."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ._alphabet import encode_nucleotides
from ._errors import InputFormatError
from ._io import SequencesLike, as_sequence_table

BASES = ["A", "C", "G", "T"]
# Columns of an A, C, G, T matrix in the order of the nucleotide codes (A T C G = 0 1 2 3).
_CODE_ORDER = [0, 3, 1, 2]
# Complement of each code: A<->T, C<->G.
_COMPLEMENT = [1, 0, 3, 2]


def check_pfm(pfm: object) -> None:
    """Raise InputFormatError unless ``pfm`` is a DataFrame with columns A, C, G, T and at least one row."""
    if not isinstance(pfm, pd.DataFrame) or list(pfm.columns) != BASES or len(pfm) == 0:
        raise InputFormatError("A PFM is a DataFrame with columns A, C, G, T and one row per position.")


def log_odds(pfm: pd.DataFrame, *, pseudocount: float = 0.5, background: float = 0.25) -> pd.DataFrame:
    """Log2-odds weights of a position frequency (count or probability) matrix.

    Parameters
    ----------
    pfm
        Positions × ``A C G T``.
    pseudocount
        Added to every count; probabilities are scaled to counts of 100 first.
    background
        Background probability of each base.
    """
    counts = pfm[BASES].to_numpy(dtype=float)
    if np.allclose(counts.sum(axis=1), 1):
        counts = counts * 100
    probabilities = (counts + pseudocount) / (counts + pseudocount).sum(axis=1, keepdims=True)
    return pd.DataFrame(np.log2(probabilities / background), columns=BASES, index=pfm.index)


def best_match_scores(sequences: Sequence[str], pwm: pd.DataFrame) -> np.ndarray:
    """Best log-odds score of ``pwm`` in each sequence, over all positions of both strands.

    Ambiguous bases score 0. A sequence shorter than the motif scores ``-inf``.

    Returns
    -------
    ndarray of float, shape (n_sequences,)
    """
    width = len(pwm)
    weights = np.zeros((width, 5))
    weights[:, :4] = pwm[BASES].to_numpy(dtype=float)[:, _CODE_ORDER]
    reverse = np.zeros((width, 5))
    reverse[:, :4] = weights[::-1, :4][:, _COMPLEMENT]
    codes, offsets = encode_nucleotides(sequences, min_length=1)
    scores = np.full(len(sequences), -np.inf)
    if codes.size < width:
        return scores
    windows = np.lib.stride_tricks.sliding_window_view(codes, width)
    positions = np.arange(width)
    both = np.maximum(weights[positions, windows].sum(axis=1), reverse[positions, windows].sum(axis=1))
    for index in range(len(sequences)):
        last_start = offsets[index + 1] - width
        if last_start >= offsets[index]:
            scores[index] = both[offsets[index] : last_start + 1].max()
    return scores


def motif_scores(sequences: SequencesLike, pfm: pd.DataFrame, *, pseudocount: float = 0.5) -> np.ndarray:
    """Best log2-odds match of a motif in each sequence, over all positions of both strands.

    Parameters
    ----------
    sequences
        A str, list of str, Series, DataFrame with ``sequence``, or FASTA path.
    pfm
        Position frequency matrix, positions × ``A C G T`` (counts or probabilities), e.g.
        from :func:`dnabert_nb.datasets.jaspar`.
    pseudocount
        Added to every count before taking log-odds against a uniform background.

    Returns
    -------
    ndarray of float, shape (n_sequences,)
        ``-inf`` for a sequence shorter than the motif.
    """
    table = as_sequence_table(sequences)
    return best_match_scores(table.sequences, log_odds(pfm, pseudocount=pseudocount))
