"""A run that stays a constant predictor is stopped early and restarted with a seed of its own."""

from __future__ import annotations

import numpy as np

from ..core.model import DNABERTModel
from . import loop
from .callbacks import Callback
from .targets import LabelledTask

#: A run whose valid score is still a constant predictor's (:func:`collapse_score` at or below 0 at every evaluation)
#: once this share of its steps is done stops there and restarts with another seed, where ``restarts`` are left:
#: unpromising seeds can be told early (Dodge et al., 2020). Single-label classification only: early in a regression
#: run R² is often below 0 while the outputs are still mis-scaled.
STALL_SHARE = 0.25
#: ... and only once this many evaluations have been seen, so that one evaluation at the end of a first epoch does
#: not decide alone.
STALL_EVALUATIONS = 2
#: A collapse warning suggests ``class_weights="balanced"`` where a class has less than this fraction of an even
#: share of the training rows (two classes: under 20%).
RARE_CLASS_SHARE = 0.4
#: Restart ``n`` trains with ``seed + n * RESTART_SEED_STEP``: apart from the neighbouring seeds a user sweeps, so
#: that seed 0's restart is not seed 1's run again.
RESTART_SEED_STEP = 1000


class CollapseWarning(UserWarning):
    """Fine-tuning collapsed to a constant predictor on valid and was restarted (``finetune(restarts=...)``)."""


def restart_seed(seed: int, restart: int) -> int:
    """The seed of restart number ``restart`` (1, 2, ...) of a run with ``seed``: :data:`RESTART_SEED_STEP` apart."""
    return seed + restart * RESTART_SEED_STEP


def rare_class_hint(data: LabelledTask) -> str:
    """For a collapse warning: where a class has under :data:`RARE_CLASS_SHARE` of an even share of the training
    rows, suggest balanced class weights (predicting the common class is where an unweighted loss settles first)."""
    if data.task != "classification":
        return ""
    shares = np.bincount(data.targets, minlength=len(data.names)) / len(data.targets)
    rarest = int(np.argmin(shares))
    if shares[rarest] >= RARE_CLASS_SHARE / len(data.names):
        return ""
    return (
        f" Class {data.names[rarest]!r} is {shares[rarest]:.1%} of the training rows: class_weights='balanced' "
        "weighs every class equally in the loss."
    )


def collapse_score(task: str) -> str:
    """The valid score at or below 0 for a constant predictor: R² for regression, MCC otherwise."""
    return "r2" if task == "regression" else "mcc"


def collapsed(model: DNABERTModel, task: str) -> bool:
    """Whether a fine-tuned model scored like a constant predictor on valid (MCC or R² at or below 0)."""
    if model.metrics is None:
        return False
    score = model.metrics.get(collapse_score(task))
    return score is not None and score <= 0


class StallGuard(Callback):
    """Stops a run whose every evaluation so far (:data:`STALL_EVALUATIONS` at least) scored like a constant
    predictor (``score`` at or below 0) once :data:`STALL_SHARE` of its steps are done, so that ``finetune``
    restarts it with another seed; a resumed run that had stopped so stops again before its first step.

    Parameters
    ----------
    score
        The valid score to watch, from :func:`collapse_score`.
    """

    def __init__(self, score: str):
        self.column = f"valid_{score}"

    def stalled(self, state: loop.TrainingState) -> bool:
        """Whether the run has scored like a constant predictor at every evaluation and should stop now."""
        if state.step < STALL_SHARE * state.total_steps:
            return False
        seen = [row[self.column] for row in state.history if np.isfinite(row.get(self.column, np.nan))]
        return len(seen) >= STALL_EVALUATIONS and max(seen) <= 0

    def on_start(self, state: loop.TrainingState) -> None:
        if self.stalled(state):
            state.request_stop()

    def on_evaluate(self, state: loop.TrainingState, scores: dict[str, float]) -> None:
        if self.stalled(state):  # the history holds this evaluation's row already
            state.request_stop()
