"""Plots. Each function draws on ``ax`` (or new Axes), returns the Axes, never shows or saves.

>>> import dnabert_nb as dn
>>> dn.pl.training_curves(model.history)
"""

from ..training.callbacks import register_live_figure
from .attention import attention
from .design import design_trajectory
from .evaluation import confusion, roc
from .logos import logo, motif_match
from .mutagenesis import mutagenesis
from .tracks import scan
from .training import LiveTrainingCurves, training_curves

register_live_figure(LiveTrainingCurves)

__all__ = [
    "LiveTrainingCurves",
    "attention",
    "confusion",
    "design_trajectory",
    "logo",
    "motif_match",
    "mutagenesis",
    "roc",
    "scan",
    "training_curves",
]
