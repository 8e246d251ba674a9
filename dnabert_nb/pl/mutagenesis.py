"""The mutagenesis map: an importance logo over a heatmap of every substitution's effect."""

from __future__ import annotations

from collections.abc import Sequence

import logomaker
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ..dna.errors import InputFormatError
from ..dna.pfm import BASES


def importance(ism: pd.DataFrame, sequence: str) -> pd.DataFrame:
    """Per-position importance drawn on the reference base: minus the mean change of the three substitutions.

    Positive where mutating the base lowers the target (the base supports it), negative where it raises it.
    Returns a positions × ``A C G T`` matrix with the value in the reference base's column, zeros elsewhere.
    """
    values = ism[BASES].to_numpy(dtype=float)
    reference = [sequence[position] if sequence[position] in BASES else None for position in ism.index]
    changed = np.array([[base != ref for base in BASES] for ref in reference])
    score = -(values * changed).sum(axis=1) / np.maximum(changed.sum(axis=1), 1)
    heights = np.zeros_like(values)
    for row, ref in enumerate(reference):
        if ref is not None:
            heights[row, BASES.index(ref)] = score[row]
    return pd.DataFrame(heights, index=ism.index, columns=BASES)


def map_title(name: object, target: object, scale: str) -> str:
    """A map's title in words, e.g. ``"change of p(donor) for every substitution"``, led by the sequence's name
    when it has one (not the position a lone sequence gets)."""
    what = "the output" if target is None else f"p({target})" if scale == "probability" else f"{scale} of {target}"
    title = f"change of {what} for every substitution"
    return f"{name}: {title}" if isinstance(name, str) else title


def mutagenesis(
    ism: pd.DataFrame, sequence: str | None = None, *, ax: Sequence[Axes] | None = None, cmap: str = "RdBu_r"
) -> np.ndarray:
    """Importance logo above a heatmap of every substitution (e.g. from :func:`dnabert_nb.mutagenesis`).

    Parameters
    ----------
    ism
        Positions × ``A C G T`` changes, as :func:`dnabert_nb.mutagenesis` returns them.
    sequence
        The reference sequence; None takes ``ism.attrs["sequence"]``.
    ax
        Two Axes (logo, heatmap); None makes a figure whose width grows with the length (up to 500 nt stay
        readable: one heatmap cell is at least 4 points wide).
    cmap
        A diverging colormap; the colour scale is symmetric around 0.

    Returns
    -------
    ndarray of two Axes
    """
    sequence = sequence if sequence is not None else ism.attrs.get("sequence")
    if not isinstance(ism, pd.DataFrame) or list(ism.columns) != BASES or sequence is None:
        raise InputFormatError("Give the DataFrame of dn.mutagenesis (columns A, C, G, T) and its sequence.")
    if len(ism) and (ism.index.min() < 0 or ism.index.max() >= len(sequence)):
        raise InputFormatError(f"The map's positions run past the {len(sequence)}-nt sequence; is it the right one?")
    length = len(ism)
    if ax is None:
        _, ax = plt.subplots(
            2, 1, figsize=(min(60, max(6, length / 14)), 3.6), sharex=True, gridspec_kw={"height_ratios": [1, 1.1]}
        )
    top, bottom = np.asarray(ax)
    heights = importance(ism, sequence.upper()).reset_index(drop=True)
    logomaker.Logo(heights, ax=top, color_scheme="classic", flip_below=False)
    top.axhline(0, color="grey", lw=0.5)
    label = ism.attrs.get("scale", "probability").replace("_", "-")
    top.set(ylabel=f"importance\n({label})", xlim=(-0.5, length - 0.5))
    top.set_title(map_title(ism.attrs.get("id"), ism.attrs.get("target"), label))
    values = ism[BASES].to_numpy(dtype=float).T
    limit = float(np.abs(values).max()) or 1.0
    image = bottom.imshow(values, aspect="auto", cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest")
    bottom.set_yticks(range(4), BASES)
    step = max(1, int(np.ceil(length / 25 / 5)) * 5) if length > 30 else 1
    ticks = np.arange(0, length, step)
    bottom.set_xticks(ticks, [str(ism.index[t]) for t in ticks], fontsize=7)
    bottom.set(xlabel="position", ylabel="substitution")
    bottom.figure.colorbar(image, ax=list(np.asarray(ax)), fraction=0.02, pad=0.01, label=f"change ({label})")
    return np.asarray(ax)
