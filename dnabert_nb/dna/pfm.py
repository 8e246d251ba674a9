"""Position frequency matrices (PFMs): DataFrames with one row per position and columns A, C, G, T.

That is logomaker's form: a PFM goes straight into ``logomaker.Logo``. One rule turns counts into
probabilities everywhere (comparison, scanning, logos): add ``pseudocount`` to every count and divide
each row by its sum. A matrix whose rows already sum to 1 is read as the probabilities of
``PROBABILITY_SAMPLES`` observations first, so counts and probabilities of the same motif agree.
Information (letter heights in bits), log-odds and the reverse complement build on it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .alphabet import NUCLEOTIDES, encode_nucleotides
from .errors import InputFormatError

#: The columns of a PFM (logomaker's and JASPAR's order). Reversing it complements: T G C A.
BASES = ["A", "C", "G", "T"]
#: A PFM's columns in the order of the nucleotide codes of :mod:`dnabert_nb.dna.alphabet`.
CODE_COLUMNS = [BASES.index(base) for base in NUCLEOTIDES]
#: Observations a probability matrix stands for when a pseudocount is added.
PROBABILITY_SAMPLES = 100


def _check_columns(matrix: object) -> None:
    if not isinstance(matrix, pd.DataFrame) or list(matrix.columns) != BASES or len(matrix) == 0:
        raise InputFormatError("A PFM is a DataFrame with columns A, C, G, T and one row per position.")


def check_pfm(pfm: object) -> None:
    """Raise InputFormatError unless ``pfm`` is a PFM: columns A, C, G, T, rows of non-negative counts."""
    _check_columns(pfm)
    values = pfm.to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values).all(axis=1) | (values < 0).any(axis=1) | (values.sum(axis=1) <= 0))
    if bad.size:
        raise InputFormatError(
            f"PFM row {bad[0]} (position {pfm.index[bad[0]]!r}) holds {values[bad[0]].tolist()}; every row needs "
            "non-negative, finite counts or probabilities that are not all zero."
        )


def site_pfm(sites: Sequence[str], **attrs: str) -> pd.DataFrame:
    """The PFM of aligned sites of one length: the count of each base at each position (index ``position``), with
    ``attrs`` (e.g. ``id``, ``name``) kept in ``.attrs``."""
    letters = np.array([list(site) for site in sites])
    pfm = pd.DataFrame({base: (letters == base).sum(axis=0) for base in BASES}).astype(float)
    pfm.index.name = "position"
    pfm.attrs = dict(attrs)
    return pfm


def probabilities(pfm: pd.DataFrame, *, pseudocount: float = 0.0) -> pd.DataFrame:
    """Each row as probabilities: ``(counts + pseudocount) / row sum``; probability rows count as 100 observations.

    Parameters
    ----------
    pfm
        Positions × ``A C G T``, counts or probabilities.
    pseudocount
        Added to every count first.
    """
    check_pfm(pfm)
    counts = pfm.to_numpy(dtype=float)
    if np.allclose(counts.sum(axis=1), 1):
        counts = counts * PROBABILITY_SAMPLES
    counts = counts + pseudocount
    return pd.DataFrame(counts / counts.sum(axis=1, keepdims=True), columns=BASES, index=pfm.index)


def information(pfm: pd.DataFrame, *, pseudocount: float = 0.0) -> pd.DataFrame:
    """Letter heights of a sequence logo in bits: each probability times its position's information content.

    The information content of a position is 2 − its Shannon entropy (a uniform background).
    """
    p = probabilities(pfm, pseudocount=pseudocount).to_numpy()
    entropy = -np.sum(p * np.log2(np.where(p > 0, p, 1)), axis=1, keepdims=True)
    return pd.DataFrame(p * (2 - entropy), columns=BASES, index=pfm.index)


def log_odds(pfm: pd.DataFrame, *, pseudocount: float = 0.5, background: float = 0.25) -> pd.DataFrame:
    """Log2-odds weights of a PFM against a uniform ``background`` (a PWM for scanning).

    Parameters
    ----------
    pfm
        Positions × ``A C G T``, counts or probabilities.
    pseudocount
        Added to every count (see :func:`probabilities`).
    background
        Background probability of each base.
    """
    return np.log2(probabilities(pfm, pseudocount=pseudocount) / background)


def reverse_complement(pfm: pd.DataFrame | np.ndarray) -> pd.DataFrame | np.ndarray:
    """The matrix of the other strand (of a PFM or a PWM): positions reversed, A↔T and C↔G swapped.

    A DataFrame keeps its ``attrs``; an array's last two axes are positions × ``A C G T``.
    """
    if isinstance(pfm, np.ndarray):
        return pfm[..., ::-1, ::-1]
    _check_columns(pfm)
    flipped = pd.DataFrame(pfm.to_numpy()[::-1, ::-1], columns=BASES)
    flipped.attrs = dict(pfm.attrs)
    return flipped


def best_match_scores(sequences: Sequence[str], pwm: pd.DataFrame) -> np.ndarray:
    """Best log-odds score of ``pwm`` in each sequence, over all positions of both strands.

    Ambiguous bases score 0. A sequence shorter than the motif scores ``-inf``.

    Returns
    -------
    ndarray of float, shape (n_sequences,)
    """
    width = len(pwm)
    weights = np.zeros((width, 5))  # column 4: ambiguous bases score 0
    weights[:, :4] = pwm.to_numpy(dtype=float)[:, CODE_COLUMNS]
    reverse = np.zeros((width, 5))
    reverse[:, :4] = reverse_complement(pwm).to_numpy(dtype=float)[:, CODE_COLUMNS]
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
