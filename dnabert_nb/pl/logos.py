"""Sequence logos with logomaker: one PFM, or two aligned (a motif over its database match)."""

from __future__ import annotations

from collections.abc import Sequence

import logomaker
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ..dna.errors import InputFormatError
from ..dna.pfm import information, probabilities, reverse_complement


def _matrix(pfm: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Letter heights of a logo, positions numbered from 0."""
    if kind not in ("information", "probability"):
        raise InputFormatError(f"kind = {kind!r}; use 'information' or 'probability'.")
    heights = information(pfm) if kind == "information" else probabilities(pfm)
    return heights.reset_index(drop=True)


def logo(pfm: pd.DataFrame, *, kind: str = "information", ax: Axes | None = None, title: str | None = None) -> Axes:
    """Sequence logo of a PFM (positions × A C G T counts or probabilities).

    Parameters
    ----------
    pfm
        The matrix, e.g. ``result.pfms["motif_1"]`` or a JASPAR matrix.
    kind
        ``"information"`` (letter heights in bits) or ``"probability"``.
    ax
        Axes to draw on; None makes a new figure.
    title
        Defaults to the matrix's ``attrs`` id and name when it has them.
    """
    matrix = _matrix(pfm, kind)
    if ax is None:
        _, ax = plt.subplots(figsize=(max(3, 0.35 * len(matrix)), 2))
    logomaker.Logo(matrix, ax=ax, color_scheme="classic")
    ax.set(ylabel="bits" if kind == "information" else "probability", xlabel="position")
    if kind == "information":
        ax.set_ylim(0, 2)
    label = title if title is not None else " ".join(str(pfm.attrs[k]) for k in ("id", "name") if k in pfm.attrs)
    ax.set_title(label)
    return ax


def motif_match(
    pfm: pd.DataFrame, other: pd.DataFrame, *, offset: int = 0, strand: str = "+", ax: Sequence[Axes] | None = None
) -> np.ndarray:
    """Two logos stacked and aligned, e.g. a discovered motif over its best JASPAR match.

    Parameters
    ----------
    pfm, other
        The two matrices.
    offset, strand
        From :func:`dnabert_nb.compare_motifs`: ``pfm``'s first position faces ``other``'s
        position ``offset``; strand ``-`` shows ``pfm`` reverse-complemented.
    ax
        Two Axes to draw on; None makes a new figure.

    Returns
    -------
    ndarray of two Axes
    """
    top = pfm if strand == "+" else reverse_complement(pfm)
    start = min(0, offset)
    width = max(len(top) + max(offset, 0), len(other) - min(offset, 0)) - start
    if ax is None:
        _, ax = plt.subplots(2, 1, figsize=(max(4, 0.35 * width), 3.6), sharex=True)
    axes = np.asarray(ax)
    for target, matrix, shift in ((axes[0], top, max(offset, 0)), (axes[1], other, max(-offset, 0))):
        shown = _matrix(matrix, "information")
        shown.index = shown.index + shift
        logomaker.Logo(shown, ax=target, color_scheme="classic")
        target.set(xlim=(-0.5, width - 0.5), ylim=(0, 2), ylabel="bits")
        target.set_title(
            " ".join(str(matrix.attrs[k]) for k in ("id", "name") if k in matrix.attrs)
            + (" (reverse complement)" if matrix is top and strand == "-" else ""),
            fontsize=9,
        )
    return axes
