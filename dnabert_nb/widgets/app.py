"""The no-code app: every panel as a tab, sharing one current model."""

from __future__ import annotations

import ipywidgets as widgets
import pandas as pd

from ..core.model import DNABERTModel, load
from ..core.ready import named_classes, ready_names
from ..datasets import load as load_dataset
from ._model_choice import ModelChooser, SharedModel, ready_card
from .attention import AttentionExplorer
from .design import DesignPanel
from .motifs import MotifBrowser
from .mutation import MutationExplorer
from .predict import PredictPanel
from .training import TrainingPanel

#: The ready model the app opens on (``dn.models()``): every tab answers before anything is trained.
DEFAULT_MODEL = "mini6-splice"


def example_rows(data: pd.DataFrame, model: DNABERTModel, count: int) -> pd.DataFrame:
    """Up to ``count`` test rows of ``data`` whose labels are ``model``'s classes, drawn from every class in turn.

    A ready model's card maps its dataset's labels (e.g. 0/1) to its class names, so that the examples carry them.
    """
    card = ready_card(model)
    test = data[data["split"] == "test"] if "split" in data.columns else data
    if card is not None and set(test["label"].astype(str)) <= set(card["dataset_labels"]):
        test = named_classes(test, card)
    test = test[test["label"].astype(str).isin([str(name) for name in model.labels])]
    if test.empty:
        return test
    shuffled = test.sample(frac=1.0, random_state=0)
    turn = shuffled.groupby(shuffled["label"].astype(str), sort=False).cumcount()
    return shuffled.assign(_turn=turn).sort_values("_turn", kind="stable").head(count).drop(columns="_turn")


def focus_class(model: DNABERTModel) -> str:
    """The class the Motifs and Design tabs look for: a ready model's card says (e.g. donor sites); else the last."""
    card = ready_card(model)
    return str(card["focus"]) if card is not None and card.get("focus") in model.labels else str(model.labels[-1])


class App(widgets.VBox):
    """Train, Predict, Attention, Motifs, Mutations and Design tabs around one shared model (``app.shared.model``).

    The tabs that need a task model are built when one is there (a ready model, one trained in the Train tab or
    loaded), on ``examples`` test sequences drawn from every class of the data it was trained on (a ready model's
    dataset, the Train tab's, or the shipped ``dataset``).
    """

    def __init__(self, model: DNABERTModel | None = None, *, dataset: str | None = None, examples: int = 40) -> None:
        card = ready_card(model)
        self.dataset = dataset or (card["dataset"] if card is not None else "splice")
        self.shared = SharedModel(model=model)
        self.examples = examples
        self.training = TrainingPanel(self.shared, dataset=self.dataset)
        self.training.base = None  # a run starts from the embedded pre-trained model, not from the shown model
        self.predicting = PredictPanel(self.shared, choose_model=False)
        self.chooser = ModelChooser(self.shared)
        self.tabs = widgets.Tab()
        self._waiting = [widgets.HTML("<i>Train a model (Train tab) or choose a ready one above first.</i>")] * 4
        self._set_tabs(self._waiting)
        self.shared.observe(lambda _: self._model_changed(), names="model")
        intro = (
            "<b>Predict</b> the classes of your sequences, see what the model <b>attends</b> to, find <b>motifs</b> "
            "and match them to JASPAR, try <b>mutations</b>, <b>design</b> a sequence toward a class, or "
            "<b>train</b> a model on a shipped dataset or your own file. The model below is a ready one, so every "
            "tab answers at once; the menu has the others (splice sites, CTCF, Oct4 and MafK peaks, fly promoters)."
        )
        super().__init__([widgets.HTML(intro), self.chooser, self.tabs])
        if model is not None and model.task is not None:
            self._model_changed()

    def _set_tabs(self, analysis: list[widgets.Widget]) -> None:
        selected = self.tabs.selected_index  # a person who changes the model stays on the tab they are on
        self.tabs.children = [self.training, self.predicting, *analysis]
        for index, title in enumerate(["Train", "Predict", "Attention", "Motifs", "Mutations", "Design"]):
            self.tabs.set_title(index, title)
        self.tabs.selected_index = selected
        self.tabs.send_state("selected_index")  # the browser moves to another tab when the children change

    def _model_changed(self) -> None:
        model = self.shared.model
        if model is None or model.task is None:
            self._set_tabs(self._waiting)
            return
        parts = self.training.parts
        if model is self.training.model and parts is not None and len(parts["test"]):
            data = parts["test"]
        else:
            card = ready_card(model)
            data = load_dataset(card["dataset"] if card is not None else self.dataset)
        test = example_rows(data, model, self.examples)
        if test.empty:  # the data's classes are not the model's: the tabs start from the user's own sequences
            test = pd.DataFrame({"id": ["example"], "sequence": [data["sequence"].iloc[0]], "label": [None]})
        focus = focus_class(model)
        positives = test[test["label"].astype(str) == focus]
        others = test[test["label"].astype(str) != focus]
        self.attention = AttentionExplorer(self.shared, test)
        self.motifs = MotifBrowser(self.shared, positives if len(positives) else test)
        start = (positives if len(positives) else test)["sequence"].iloc[0]
        self.mutations = MutationExplorer(self.shared, start, target=focus)
        self.designing = DesignPanel(self.shared, (others if len(others) else test)["sequence"].iloc[0])
        self._set_tabs([self.attention, self.motifs, self.mutations, self.designing])


def app(model: DNABERTModel | str | None = DEFAULT_MODEL, *, dataset: str | None = None) -> App:
    """The no-code interface: Train, Predict, Attention, Motifs, Mutations and Design tabs sharing one model.

    ``notebooks/app.ipynb`` is this page; ``voila notebooks/app.ipynb`` serves it to people who never write code.

    Parameters
    ----------
    model
        The model to start with: a :class:`DNABERTModel`, the name of a ready model (``dn.models()``; by default
        ``"mini6-splice"``, so that every tab answers at once), or None (train one in the Train tab, or load one).
    dataset
        The shipped dataset the Train tab starts with, and whose test sequences the analysis tabs show for a
        model that is not a ready one (None: a ready model's own dataset, else ``"splice"``).
    """
    if isinstance(model, str):
        model = load(model) if model != DEFAULT_MODEL or model in ready_names() else None
    return App(model, dataset=dataset)
