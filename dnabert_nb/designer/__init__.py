"""Sequence design: edit sequences toward a model output under constraints, judged by an independent model.

>>> result = dn.design(model, "1", start=negatives, forbidden=["GAATTC"], max_edits=10, judge=dn.baseline(...))
>>> dn.pl.design_trajectory(result)
"""

from .constraints import DesignConstraints, consensus
from .search import DesignResult, design

__all__ = ["DesignConstraints", "DesignResult", "consensus", "design"]
