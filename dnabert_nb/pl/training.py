"""Training curves: losses and accuracy-like metrics against the step."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ..core.model import DNABERTModel
from ..dna.errors import InputFormatError
from ..training.baseline import KmerBaseline
from ..training.callbacks import CurvesCallback
from ..training.loop import TrainingState
from ..training.selection import is_network_alone

#: A panel with more curves than this gets its legend beside it instead of over the curves.
LEGEND_INSIDE = 3


def training_curves(
    history: pd.DataFrame | DNABERTModel,
    *,
    baseline: KmerBaseline | None = None,
    ax: tuple[Axes, Axes] | None = None,
) -> np.ndarray:
    """Plot a training history: losses on the left, other metrics (accuracy, MCC...) on the right.

    Parameters
    ----------
    history
        A model that :func:`dnabert_nb.finetune` returned, or a DataFrame with a ``step`` column and metric
        columns, as ``model.history`` from :func:`dnabert_nb.pretrain`. Given the model, its ``.baseline`` is drawn
        too, and where ``finetune`` kept the linear probe or a blend with k-mer counts, that model's valid MCC is
        drawn as a solid line: the curves are the fine-tuning run's network alone. Columns ending in ``loss`` go
        left; every other numeric column except ``step``, ``epoch``, ``lr`` and the throughput columns goes right.
        Training curves are solid, ``valid_*`` curves dashed with markers. Both panels span the same
        steps, so a metric evaluated once (one epoch) sits where it was measured.
    baseline
        A :class:`~dnabert_nb.KmerBaseline` (a fine-tuned model's ``.baseline``): its MCC on valid (or by
        cross-validation, as it was chosen) is drawn across the metrics as a dotted line, the bar to clear.
    ax
        Two Axes to draw on; None makes a new figure.

    Returns
    -------
    ndarray of two Axes
    """
    kept_mcc = None
    if isinstance(history, DNABERTModel):
        model, history = history, history.history
        baseline = baseline if baseline is not None else model.baseline
        if not is_network_alone(model) and model.metrics is not None:
            kept_mcc = model.metrics.get("mcc")
    if not isinstance(history, pd.DataFrame) or "step" not in history.columns:
        raise InputFormatError("history must be a DataFrame with a 'step' column, such as model.history.")
    skip = {"step", "epoch", "lr", "tokens_per_s", "samples_per_s"}
    numeric = [c for c in history.columns if c not in skip and pd.api.types.is_numeric_dtype(history[c])]
    losses = [c for c in numeric if c.endswith("loss")]
    metrics = [c for c in numeric if c not in losses]
    if baseline is not None and baseline.valid_scores.get(baseline.k) is None:
        raise InputFormatError(
            f"baseline = {baseline!r} has no score to draw: it was fitted with one k and no valid data."
        )
    if ax is None:
        _, ax = plt.subplots(1, 2, figsize=(10, 3.2))
    axes = np.asarray(ax)
    last = float(history["step"].max())
    for target, columns, label in ((axes[0], losses, "loss"), (axes[1], metrics, "metric")):
        for column in columns:
            points = history[["step", column]].dropna()
            style = {"ls": "--", "marker": "o", "ms": 3} if column.startswith("valid") else {"lw": 1}
            target.plot(points["step"], points[column], label=column, **style)
        if baseline is not None and target is axes[1]:
            bar = f"k-mer baseline mcc (k={baseline.k}, {baseline.selected_by})"
            target.axhline(baseline.valid_scores[baseline.k], color="0.35", ls=":", lw=1.5, label=bar)
        if kept_mcc is not None and target is axes[1]:
            target.axhline(kept_mcc, color="tab:green", lw=1.5, label="valid mcc of the model kept")
        target.set(xlabel="step", ylabel=label)
        if last > 0:
            target.set_xlim(0, last * 1.03)
        if len(target.lines) > LEGEND_INSIDE:  # beside the panel, where it hides no curve
            target.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        elif target.lines:
            target.legend(fontsize=8)
    return axes


class LiveTrainingCurves(CurvesCallback):
    """A training callback: one figure of the curves in a notebook, redrawn in place as the history grows.

    ``finetune(live_plot="auto")`` adds one in a notebook; pass one in ``callbacks=`` to show it elsewhere.
    ``baseline``: a :class:`~dnabert_nb.KmerBaseline` drawn as in :func:`training_curves` (``finetune`` passes
    the one it fits before training). Redrawn at most every two seconds, and at the end with every point.
    """

    def __init__(self, baseline: KmerBaseline | None = None) -> None:
        self.figure = self.axes = self.handle = None
        self.baseline = baseline

    def on_start(self, state: TrainingState) -> None:
        from IPython.display import display

        self.figure, self.axes = plt.subplots(1, 2, figsize=(10, 3.2))
        self.handle = display(self.figure, display_id=True)
        plt.close(self.figure)  # shown through the handle only, not again at the end of the cell

    def draw(self, history: pd.DataFrame) -> None:
        """Redraw the curves from ``history`` into the same figure."""
        for axis in self.axes:
            axis.clear()
        training_curves(history, baseline=self.baseline, ax=self.axes)
        self.figure.tight_layout()
        self.handle.update(self.figure)
