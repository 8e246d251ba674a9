"""The no-code app: every panel as a tab, sharing one current model."""

from __future__ import annotations

import ipywidgets as widgets

from ..core.model import DNABERTModel
from ..datasets import load as load_dataset
from ._model_choice import ModelChooser, SharedModel
from .attention import AttentionExplorer
from .design import DesignPanel
from .motifs import MotifBrowser
from .mutation import MutationExplorer
from .predict import PredictPanel
from .training import TrainingPanel


class App(widgets.VBox):
    """Train, Predict, Attention, Motifs, Mutations and Design tabs around one shared model (``app.shared.model``).

    The tabs that need a fine-tuned model are built when one is there (trained in the Train tab or loaded), on
    the first ``examples`` test sequences of the data trained on (or of the shipped ``dataset``).
    """

    def __init__(self, model: DNABERTModel | None = None, *, dataset: str = "splice", examples: int = 40):
        self.shared = SharedModel(model=model)
        self.examples, self.dataset = examples, dataset
        self.training = TrainingPanel(self.shared, dataset=dataset)
        self.predicting = PredictPanel(self.shared, choose_model=False)
        self.chooser = ModelChooser(self.shared, self.training.reporting)
        self.tabs = widgets.Tab()
        self._waiting = [widgets.HTML("<i>Train a model (Train tab) or load a fine-tuned one first.</i>")] * 4
        self._set_tabs(self._waiting)
        self.shared.observe(lambda _: self._model_changed(), names="model")
        super().__init__([widgets.HTML("<h3>dnabert_nb</h3>"), self.chooser, self.tabs])
        if model is not None and model.task is not None:
            self._model_changed()

    def _set_tabs(self, analysis: list[widgets.Widget]) -> None:
        self.tabs.children = [self.training, self.predicting, *analysis]
        for index, title in enumerate(["Train", "Predict", "Attention", "Motifs", "Mutations", "Design"]):
            self.tabs.set_title(index, title)

    def _model_changed(self) -> None:
        model = self.shared.model
        if model is None or model.task is None:
            self._set_tabs(self._waiting)
            return
        parts = self.training.parts
        data = parts["test"] if parts is not None and len(parts["test"]) else load_dataset(self.dataset)
        test = data[data["split"] == "test"] if "split" in data.columns else data
        test = test.head(self.examples)
        positives = test[test["label"].astype(str) == str(model.labels[-1])]
        self.attention = AttentionExplorer(self.shared, test)
        self.motifs = MotifBrowser(self.shared, positives if len(positives) else test)
        self.mutations = MutationExplorer(self.shared, test["sequence"].iloc[0])
        others = test[test["label"].astype(str) != str(model.labels[-1])]  # designed toward the last class
        self.designing = DesignPanel(self.shared, (others if len(others) else test)["sequence"].iloc[0])
        self._set_tabs([self.attention, self.motifs, self.mutations, self.designing])


def app(model: DNABERTModel | None = None, *, dataset: str = "splice") -> App:
    """The no-code interface: Train, Predict, Attention, Motifs, Mutations and Design tabs sharing one model.

    ``notebooks/app.ipynb`` is this page; ``voila notebooks/app.ipynb`` serves it to people who never write code.

    Parameters
    ----------
    model
        The model to start with (None: train one in the Train tab, or load one).
    dataset
        The shipped dataset the Train tab starts with, and whose test sequences the analysis tabs show.
    """
    return App(model, dataset=dataset)
