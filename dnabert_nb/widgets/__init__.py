"""Panels for Jupyter: each an ipywidgets box that displays itself, wiring the library's verbs to controls.

>>> import dnabert_nb as dn
>>> dn.widgets.MutationExplorer(model, sequence)        # click through substitutions
>>> dn.widgets.DesignPanel(model, start)                # design toward a class under constraints
>>> dn.widgets.app()                                    # every panel as a tab: the no-code page
>>> dn.widgets.GenomeView(genome, scan=track, peaks=peaks)  # a region in IGV, offline

Long work runs in the background with a progress bar and Stop; errors appear inside the panel; results are
attributes (``panel.model``, ``panel.result``, ``panel.table``) to go on with in code.
"""

from ._model_choice import SharedModel
from .app import App, app
from .attention import AttentionExplorer
from .design import DesignPanel
from .genome_view import GenomeView
from .motifs import MotifBrowser
from .mutation import MutationExplorer
from .predict import PredictPanel
from .training import TrainingPanel

__all__ = [
    "App",
    "AttentionExplorer",
    "DesignPanel",
    "GenomeView",
    "MotifBrowser",
    "MutationExplorer",
    "PredictPanel",
    "SharedModel",
    "TrainingPanel",
    "app",
]
