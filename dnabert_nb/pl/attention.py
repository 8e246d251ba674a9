"""The attention track: one score per nucleotide along a sequence, its letters underneath."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.transforms import blended_transform_factory

from ..dna.errors import InputFormatError


def attention(
    scores: np.ndarray,
    sequence: str,
    *,
    instances: pd.DataFrame | None = None,
    letters: bool | None = None,
    start: int = 0,
    ylabel: str = "attention",
    shaded: str = "motif instance",
    ax: Axes | None = None,
) -> Axes:
    """Attention track of one sequence (e.g. from :func:`dnabert_nb.attention_scores`), bases underneath.

    Any per-nucleotide score draws the same way; signed ones (e.g. :func:`dnabert_nb.token_contributions`) get a
    line at zero.

    Parameters
    ----------
    scores
        One score per nucleotide.
    sequence
        The sequence.
    instances
        Rows with ``start`` and ``end`` (e.g. ``result.instances`` of this sequence) shaded on the track, in the
        same coordinates as the x axis.
    letters
        Write the sequence's letters under the track; None: when it is at most 120 nt long (draw longer ones on
        a wide figure, about 0.1 inch per nucleotide, to keep them readable).
    start
        The position of the first score: a stretch of a longer sequence keeps that sequence's coordinates.
    ylabel
        What the scores are, e.g. ``"contribution"``.
    shaded
        What the shaded ``instances`` are, for the legend (e.g. ``"high-attention region"``).
    ax
        Axes to draw on; None makes a new figure.
    """
    scores = np.asarray(scores, dtype=float)
    if len(scores) != len(sequence):
        raise InputFormatError(f"{len(scores)} scores for a sequence of {len(sequence)} nt.")
    if ax is None:
        _, ax = plt.subplots(figsize=(min(16, max(6, len(sequence) / 12)), 2))
    positions = np.arange(start, start + len(scores))
    ax.fill_between(positions, scores, step="mid", alpha=0.7)
    if (scores < 0).any():
        ax.axhline(0, color="0.3", linewidth=0.8)
    for number, row in enumerate(instances.itertuples() if instances is not None else ()):
        ax.axvspan(row.start - 0.5, row.end - 0.5, color="orange", alpha=0.25, label=shaded if number == 0 else None)
    if instances is not None and len(instances):
        ax.legend(loc="upper right", fontsize=7, frameon=False)
    letters = len(sequence) <= 120 if letters is None else letters
    if letters:  # one text per letter: far cheaper to draw than one tick per letter
        under_axis = blended_transform_factory(ax.transData, ax.transAxes)
        for position, letter in zip(positions, sequence.upper()):
            ax.text(position, -0.03, letter, transform=under_axis, ha="center", va="top", fontsize=7,
                    family="monospace")  # fmt: skip
        ax.tick_params(axis="x", pad=14, labelsize=7, length=0)
    step = max(1, int(np.ceil(len(scores) / 30 / 5)) * 5) if len(scores) > 30 else 1
    ax.set_xticks(positions[(positions - start) % step == 0] if step > 1 else positions)
    ax.set(xlim=(start - 0.5, start + len(scores) - 0.5), ylabel=ylabel, xlabel="position")
    return ax
