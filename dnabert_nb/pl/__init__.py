"""Plots. Each function draws on ``ax`` (or new Axes), returns the Axes, never shows or saves.

>>> import dnabert_nb as dn
>>> dn.pl.training_curves(model.history)
"""

from ._evaluation import confusion, roc
from ._motifs import attention, logo, motif_match
from ._training import training_curves

__all__ = ["attention", "confusion", "logo", "motif_match", "roc", "training_curves"]
