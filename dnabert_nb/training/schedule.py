"""epochs="auto": how many epochs, how often to evaluate, how long to wait for an improvement."""

from __future__ import annotations

import math

#: epochs="auto": see every training window this many times ...
AUTO_PASSES = 8
#: ... in at least the first and, where that allows, at most the second number of optimiser steps (small data gets
#: more epochs, large data fewer) ...
AUTO_STEPS = (500, 1000)
#: ... in this many epochs at the least and at the most ...
AUTO_EPOCHS = (3, 30)
#: ... evaluating on valid at the end of every epoch or, where an epoch is longer, every epoch / k steps (rounded up)
#: for the smallest k that keeps it at most this many, so that early stopping on a large set sees more than three
#: points ...
AUTO_EVAL_STEPS = 125
#: ... and stop after this many evaluations without improvement ...
AUTO_PATIENCE = 4
#: ... spanning at least this many steps: 4 epochs of 25 steps (800 rows) are too few to leave a constant predictor.
AUTO_PATIENCE_STEPS = 250


def auto_patience(steps_between_evaluations: int) -> int:
    """``epochs="auto"``: evaluations without improvement before stopping, spanning :data:`AUTO_PATIENCE_STEPS`."""
    return max(AUTO_PATIENCE, math.ceil(AUTO_PATIENCE_STEPS / steps_between_evaluations))


def auto_eval_every(steps_per_epoch: int) -> int | None:
    """``epochs="auto"``: steps between evaluations, the epoch split into the fewest equal parts (rounded up) of at
    most :data:`AUTO_EVAL_STEPS`; None (the end of every epoch) where an epoch is that short already."""
    if steps_per_epoch <= AUTO_EVAL_STEPS:
        return None
    return math.ceil(steps_per_epoch / math.ceil(steps_per_epoch / AUTO_EVAL_STEPS))


def auto_epochs(steps_per_epoch: int) -> int:
    """``epochs="auto"``: :data:`AUTO_PASSES` epochs, more where they take fewer than the first of
    :data:`AUTO_STEPS` optimiser steps, fewer where they take more than the second; within :data:`AUTO_EPOCHS`."""
    fewest, most = (math.ceil(AUTO_STEPS[0] / steps_per_epoch), max(1, AUTO_STEPS[1] // steps_per_epoch))
    low, high = AUTO_EPOCHS
    return int(min(high, max(low, fewest, min(AUTO_PASSES, most))))
