"""The attention track: one score per nucleotide along a sequence, its letters underneath."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ..core.errors import InputFormatError


def attention(
    scores: np.ndarray,
    sequence: str,
    *,
    instances: pd.DataFrame | None = None,
    letters: bool | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Attention track of one sequence (e.g. from :func:`dnabert_nb.attention_scores`), bases underneath.

    Parameters
    ----------
    scores
        One score per nucleotide.
    sequence
        The sequence.
    instances
        Rows with ``start`` and ``end`` (e.g. ``result.instances`` of this sequence) shaded on the track.
    letters
        Label the x axis with the sequence's letters; None: when it is at most 120 nt long (draw longer ones on
        a wide figure, about 0.1 inch per nucleotide, to keep them readable).
    ax
        Axes to draw on; None makes a new figure.
    """
    scores = np.asarray(scores, dtype=float)
    if len(scores) != len(sequence):
        raise InputFormatError(f"{len(scores)} scores for a sequence of {len(sequence)} nt.")
    if ax is None:
        _, ax = plt.subplots(figsize=(min(16, max(6, len(sequence) / 12)), 2))
    ax.fill_between(np.arange(len(scores)), scores, step="mid", alpha=0.7)
    for row in instances.itertuples() if instances is not None else ():
        ax.axvspan(row.start - 0.5, row.end - 0.5, color="orange", alpha=0.25)
    letters = len(sequence) <= 120 if letters is None else letters
    if letters:
        ax.set_xticks(range(len(sequence)), list(sequence.upper()), fontsize=7, family="monospace")
        if len(sequence) > 40:  # positions on top, every 10 nt
            positions = ax.secondary_xaxis("top")
            positions.set_xticks(range(0, len(sequence), 10))
            positions.tick_params(labelsize=7)
    ax.set(xlim=(-0.5, len(scores) - 0.5), ylabel="attention", xlabel=None if letters else "position")
    return ax
