"""Genome tracks: a model's scan along a region, with the peaks it should find."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

from ..dna.errors import InputFormatError


def scan(table: pd.DataFrame, *, value: str | None = None, peaks: pd.DataFrame | None = None, ax: Axes | None = None):
    """Draw a :func:`dnabert_nb.scan` table as a step track, with known peaks shaded beneath.

    Parameters
    ----------
    table
        The scan: ``chrom``, ``start``, ``end`` and the score column.
    value
        The score to draw; default the probability of the last class (``prob_1`` for 0/1 labels) or ``value``.
    peaks
        Regions to shade (``chrom``, ``start``, ``end``), e.g. the peaks of :func:`dnabert_nb.io.read_peaks`;
        those on other chromosomes or outside the scan are left out.
    ax
        Axes to draw on; None makes a new figure.
    """
    scores = [column for column in table.columns if column.startswith("prob_") or column.startswith("value")]
    value = value or (scores[-1] if scores else None)
    if value not in table.columns or not {"chrom", "start", "end"} <= set(table.columns):
        raise InputFormatError(f"Give the table of dn.scan and one of its score columns ({', '.join(scores)}).")
    if table["chrom"].nunique() != 1:
        raise InputFormatError("Draw one chromosome at a time: select its rows first.")
    ax = ax or plt.subplots(figsize=(14, 2.4))[1]
    chrom, first, last = table["chrom"].iloc[0], table["start"].min(), table["end"].max()
    if peaks is not None:
        shown = peaks[(peaks["chrom"] == chrom) & (peaks["end"] > first) & (peaks["start"] < last)]
        for index, (_, peak) in enumerate(shown.iterrows()):
            ax.axvspan(
                peak["start"], peak["end"], color="tab:orange", alpha=0.3, lw=0, label="peak" if index == 0 else None
            )
    ax.step(table["start"], table[value], where="post", color="tab:blue", lw=1, label=value)
    ax.set_xlim(first, last)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda position, _: f"{position:,.0f}"))
    ax.set_xlabel(f"{chrom} position (nt)")
    ax.set_ylabel(value)
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    return ax
