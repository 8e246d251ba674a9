"""The model the panels work on: one shared slot, and the control that fills it (and saves what is in it)."""

from __future__ import annotations

import html
from contextlib import AbstractContextManager

import ipywidgets as widgets
import traitlets

from ..core.model import EMBEDDED_MODEL, DNABERTModel, load
from ..core.ready import model_card, ready_folder, ready_names
from ..dna.errors import InputFormatError
from ..training.selection import model_kind
from ._panel import MessageLine

#: The menu entry of the embedded pre-trained model.
EMBEDDED = "embedded"


class SharedModel(traitlets.HasTraits):
    """The current model of a set of panels; a panel that trains one puts it here for the others."""

    model = traitlets.Any(default_value=None, allow_none=True)


def ready_card(model: DNABERTModel | None) -> dict | None:
    """The card of ``model`` when it is a ready model loaded by name (``dn.load("mini6-splice")``), else None."""
    if model is None or ready_folder(model.source) is None:
        return None
    return model_card(model.source)


def kind_of(model: DNABERTModel) -> str:
    """What a model is, in words: a linear probe, a fine-tuned network, either blended with k-mer counts, or a
    pre-trained encoder."""
    if model.task is None:
        return "pre-trained encoder, no task head"
    return model_kind(model)


def describe(model: DNABERTModel | None) -> str:
    """One line about a model for a person: its name, what it is and its classes."""
    if model is None:
        return "no model loaded yet"
    card = ready_card(model)
    name = f"{model.source} ({card['about']}) — " if card else ""
    if model.task is None:
        return f"{name}k={model.tokenizer.k} {kind_of(model)}: fine-tune one in the Train tab, or load a ready model"
    return f"{name}{kind_of(model)}, classes: {', '.join(map(str, model.labels))}"


def as_shared(model: DNABERTModel | SharedModel | None) -> SharedModel:
    """A :class:`SharedModel`, made around ``model`` unless it is one already."""
    return model if isinstance(model, SharedModel) else SharedModel(model=model)


class ModelChooser(widgets.VBox):
    """Choose the panels' model — a ready task model, the embedded pre-trained model, a model trained in this
    session, or a checkpoint folder — and save the current one. Errors show on the chooser's own line.

    Models trained in the session (put in the shared slot by the Train tab) join the menu, so that loading another
    never loses them.
    """

    def __init__(self, shared: SharedModel):
        self.shared = shared
        self.trained: dict[str, DNABERTModel] = {}
        self.current = widgets.HTML()
        self.menu = widgets.Dropdown(description="Model", layout=widgets.Layout(width="760px"))
        self.load_button = widgets.Button(description="Use", tooltip="make the chosen model the panels' model")
        self.folder = widgets.Text(placeholder="a checkpoint folder (official DNABERT or saved by dnabert_nb)")
        self.folder_button = widgets.Button(description="Load folder")
        self.save_folder = widgets.Text(placeholder="folder to save the current model in")
        self.save_button = widgets.Button(description="Save", icon="save")
        self.message = MessageLine()
        self.load_button.on_click(lambda _: self.use(self.menu.value))
        self.folder_button.on_click(lambda _: self._load_folder(self.folder.value.strip()))
        self.save_button.on_click(lambda _: self.save(self.save_folder.value.strip()))
        shared.observe(lambda _: self._model_changed(), names="model")
        self._model_changed()
        super().__init__(
            [
                self.current,
                widgets.HBox([self.menu, self.load_button]),
                widgets.HBox([self.folder, self.folder_button, self.save_folder, self.save_button]),
                self.message,
            ]
        )

    def _reporting(self) -> AbstractContextManager[None]:
        self.message.say("")  # the last answer goes: errors show beside the control that caused them
        return self.message.reporting()

    @property
    def error_text(self) -> str:
        """The chooser's error line, as text ("" without an error)."""
        return self.message.error_text

    def use(self, choice: str) -> None:
        """Make the model of a menu entry the panels' model: a ready model's name, ``"embedded"`` or a trained one."""
        with self._reporting():
            if choice in self.trained:
                self.shared.model = self.trained[choice]
            else:
                self.shared.model = load(None if choice == EMBEDDED else choice)

    def _load_folder(self, folder: str) -> None:
        with self._reporting():
            if not folder:
                raise InputFormatError("Type the path of a checkpoint folder first.")
            self.shared.model = load(folder)

    def save(self, folder: str) -> None:
        """Save the current model into ``folder`` (``model.save``) and say where."""
        with self._reporting():
            if self.shared.model is None:
                raise InputFormatError("There is no model to save yet: train or load one first.")
            if not folder:
                raise InputFormatError("Type the folder to save the model in first.")
            path = self.shared.model.save(folder)
            self.message.say(f"Saved to {path.resolve()}; dn.load() reads it back.")

    def _model_changed(self) -> None:
        model = self.shared.model
        if model is not None and model.task is not None and ready_card(model) is None:
            if not any(known is model for known in self.trained.values()):
                self.trained[f"trained {len(self.trained) + 1}: {describe(model)}"] = model
        ready = [(f"{name}: {model_card(name)['about']}", name) for name in ready_names()]
        embedded = [("dnabert-mini-6: the embedded pre-trained model, no task head", EMBEDDED)]
        self.menu.options = [*ready, *embedded, *((name, name) for name in self.trained)]
        chosen = next((name for name, known in self.trained.items() if known is model), None)
        if chosen is None and model is not None:
            chosen = model.source if ready_card(model) else EMBEDDED if model.source == str(EMBEDDED_MODEL) else None
        if chosen is not None:
            self.menu.value = chosen
        self.current.value = f"<b>Model:</b> {html.escape(describe(model))}"
