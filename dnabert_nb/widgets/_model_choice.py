"""The model the panels work on: one shared slot, and the control that fills it."""

from __future__ import annotations

import ipywidgets as widgets
import traitlets

from ..core.errors import InputFormatError
from ..core.model import DNABERTModel, load


class SharedModel(traitlets.HasTraits):
    """The current model of a set of panels; a panel that trains one puts it here for the others."""

    model = traitlets.Any(default_value=None, allow_none=True)


def describe(model: DNABERTModel | None) -> str:
    """One line about a model for a person: its size and its task."""
    if model is None:
        return "no model loaded yet"
    head = f"{model.task} head: {', '.join(map(str, model.labels))}" if model.task else "no task head (fine-tune one)"
    return f"k={model.tokenizer.k} model, {head}"


def as_shared(model: DNABERTModel | SharedModel | None) -> SharedModel:
    """A :class:`SharedModel`, made around ``model`` unless it is one already."""
    return model if isinstance(model, SharedModel) else SharedModel(model=model)


class ModelChooser(widgets.VBox):
    """Load the embedded model or a checkpoint folder into a :class:`SharedModel`, and say which one it holds.

    Loading errors go to ``report`` (a panel's ``reporting`` context manager).
    """

    def __init__(self, shared: SharedModel, report):
        self.shared, self.report = shared, report
        self.current = widgets.HTML()
        self.embedded_button = widgets.Button(description="Embedded model", tooltip="dn.load(): offline, no task head")
        self.folder = widgets.Text(placeholder="a checkpoint folder (official DNABERT or saved by dnabert_nb)")
        self.folder_button = widgets.Button(description="Load folder")
        self.embedded_button.on_click(lambda _: self._load(None))
        self.folder_button.on_click(lambda _: self._load(self.folder.value.strip()))
        shared.observe(lambda _: self._show(), names="model")
        self._show()
        super().__init__([self.current, widgets.HBox([self.embedded_button, self.folder, self.folder_button])])

    def _load(self, source: str | None) -> None:
        with self.report():
            if source == "":
                raise InputFormatError("Type the path of a checkpoint folder first.")
            self.shared.model = load(source)

    def _show(self) -> None:
        self.current.value = f"<b>Model:</b> {describe(self.shared.model)}"
