"""The path of a sequence design: the designer's and the judge's score after each edit."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes

from ..dna.errors import InputFormatError

DESIGNER_COLOUR, JUDGE_COLOUR = "tab:blue", "tab:orange"


def design_trajectory(result: object, *, ax: Axes | None = None) -> Axes:
    """Draw each design's score after every edit, under the designer and (dashed) under the judge.

    With several designs each is a thin line and the median over designs a thick one (a design that
    stopped early keeps its last score). A random screen scores only its start and its final sequence, so
    its lines (and their median) join those two points. Where the judge's line stays low while the designer's rises, the
    designs fooled the designer rather than reached the class.

    Parameters
    ----------
    result
        What :func:`dnabert_nb.design` returned, or its ``trajectory`` table (``id``, ``step``, ``score``,
        optionally ``judge_score``).
    ax
        Axes to draw on; None makes a new figure.

    Returns
    -------
    Axes
    """
    trajectory = getattr(result, "trajectory", result)
    if not isinstance(trajectory, pd.DataFrame) or not {"id", "step", "score"} <= set(trajectory.columns):
        raise InputFormatError("Give what dn.design returned, or its trajectory table (id, step, score).")
    designs = getattr(result, "designs", None)
    target = designs.attrs.get("target") if designs is not None else None
    ax = ax or plt.subplots(figsize=(6, 3.6))[1]
    columns = [("score", DESIGNER_COLOUR, "-", "designer")]
    if "judge_score" in trajectory.columns:
        columns.append(("judge_score", JUDGE_COLOUR, "--", "judge"))
    ids = trajectory["id"].unique()
    thin = max(0.15, min(0.8, 6 / len(ids)))
    for column, colour, style, name in columns:
        table = trajectory.pivot(index="step", columns="id", values=column)
        for design in ids:
            path = table[design].dropna()
            ax.plot(path.index, path.to_numpy(), color=colour, ls=style, lw=1, alpha=thin)
        if len(ids) > 1:
            joined = table.interpolate(method="index", limit_area="inside").ffill()  # as the thin lines are drawn
            median = joined.median(axis=1)
            ax.plot(median.index, median.to_numpy(), color=colour, ls=style, lw=2.5, label=f"{name} (median)")
        else:
            ax.lines[-1].set_label(name)
    ax.set_xlabel("edits")
    ax.set_ylabel(f"P({target})" if target is not None else "target output")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="best", fontsize=8, frameon=False)
    return ax
