"""MutationExplorer: the saturation mutagenesis map of a sequence; apply substitutions, undo and redo them."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import pandas as pd

from ..core.model import DNABERTModel
from ..core.predict import output_column, predict
from ..dna.alphabet import normalise
from ..dna.errors import InputFormatError, ModelTaskError
from ..interpret.mutagenesis import mutagenesis
from ..pl.mutagenesis import mutagenesis as plot_mutagenesis
from ._inputs import SequenceInput
from ._model_choice import SharedModel, as_shared
from ._panel import Job, Panel, figure_image, html_table, new_figure, show_figure

#: The longest stretch mapped by default; a longer sequence is mapped around its centre (move the region to see more).
MAP_WIDTH = 150
#: Positions mapped between two progress updates (and two checks of Stop).
CHUNK = 10


class MutationExplorer(Panel):
    """In-silico mutagenesis of one sequence, with substitutions applied by hand.

    The map (:func:`dnabert_nb.mutagenesis`, drawn by :func:`dnabert_nb.pl.mutagenesis`) shows how each
    substitution changes the chosen class's probability; choose a position and a base to apply one, see the new
    prediction and map, undo and redo. The current sequence is ``panel.sequence``, the map ``panel.result``, the
    applied edits ``panel.table``. Paste or upload another sequence and press Use to start from it.

    Parameters
    ----------
    model
        A model with a task head (or a :class:`SharedModel` of other panels).
    sequence
        The starting sequence.
    target
        The class whose probability is mapped; None: the last class.
    """

    def __init__(self, model: DNABERTModel | SharedModel, sequence: str, *, target: str | None = None):
        self.shared = as_shared(model)
        self.history: list[str] = normalise([sequence])
        self.undone: list[str] = []
        self.edits: list[dict] = []
        self.undone_edits: list[dict] = []
        self.result: pd.DataFrame | None = None
        self.current: float | None = None  # the target output of the current sequence
        self.prediction = widgets.HTML()
        self.target = widgets.Dropdown(description="Class")
        length = len(self.history[0])
        start = max(0, length // 2 - MAP_WIDTH // 2)
        self.region = widgets.IntRangeSlider(
            value=(start, min(length, start + MAP_WIDTH)),
            min=0,
            max=length,
            description="Map region",
            continuous_update=False,
            layout=widgets.Layout(width="600px"),
        )
        self.position = widgets.BoundedIntText(value=0, min=0, max=length - 1, description="Position")
        self.base = widgets.Dropdown(options=list("ACGT"), description="New base")
        self.apply_button = widgets.Button(description="Apply", button_style="primary")
        self.undo_button = widgets.Button(description="Undo", icon="undo")
        self.redo_button = widgets.Button(description="Redo", icon="repeat")
        self.apply_button.on_click(lambda _: self.apply(self.position.value, self.base.value))
        self.undo_button.on_click(lambda _: self.undo())
        self.redo_button.on_click(lambda _: self.redo())
        self.figure = figure_image()
        self.edits_table = widgets.HTML()
        self.own = SequenceInput(lambda table: self.use_sequence(table["sequence"].iloc[0]), self.reporting, one=True)
        scroller = widgets.Box([self.figure], layout=widgets.Layout(overflow="auto", width="100%"))
        super().__init__(
            [
                self.own,
                self.prediction,
                widgets.HBox([self.target, self.region]),
                scroller,
                widgets.HBox([self.position, self.base, self.apply_button, self.undo_button, self.redo_button]),
                self.edits_table,
            ]
        )
        self.shared.observe(lambda _: self._model_changed(), names="model")
        self.target.observe(lambda _: self.refresh(), names="value")
        self.region.observe(lambda _: self.refresh(), names="value")
        self._model_changed(target)

    @property
    def model(self) -> DNABERTModel | None:
        """The model the map is made with."""
        return self.shared.model

    @property
    def sequence(self) -> str:
        """The sequence with every applied edit."""
        return self.history[-1]

    @property
    def table(self) -> pd.DataFrame:
        """The applied edits, in order: ``position``, ``ref``, ``alt`` and the class probability before and after."""
        return pd.DataFrame(self.edits, columns=["position", "ref", "alt", "before", "after"])

    def use_sequence(self, sequence: str) -> None:
        """Start again from ``sequence`` (edits forgotten), mapping its middle."""
        history = normalise([sequence])  # a bad letter is named here, before anything changes
        self.history, self.undone, self.edits, self.undone_edits = history, [], [], []
        length = len(history[0])
        start = max(0, length // 2 - MAP_WIDTH // 2)
        with self.hold_trait_notifications():
            self.region.max = length
            self.region.value = (start, min(length, start + MAP_WIDTH))
            self.position.max = length - 1
            self.position.value = min(self.position.value, length - 1)
        self.refresh()

    def _model_changed(self, target: str | None = None) -> None:
        with self.reporting():
            model = self.model
            if model is None or model.task is None:
                raise ModelTaskError("The mutation explorer needs a model with a task head; fine-tune one first.")
            labels = [str(label) for label in model.labels]
            if target is not None and str(target) not in labels:
                raise InputFormatError(f"target {target!r} is not one of the model's classes {labels}.")
            chosen = str(target) if target is not None else labels[-1]
            with self.hold_trait_notifications():
                self.target.options = labels
                self.target.value = chosen
            self.refresh()

    def _probability(self, sequence: str) -> float:
        model = self.model
        column = output_column(model.task, model.labels, self.target.value)
        return float(predict(model, sequence, progress=False)[column].iloc[0])

    def refresh(self) -> Job | None:
        """Show the current sequence's prediction now and recompute its map in the background."""
        with self.reporting():
            if self.model is None or self.model.task is None or self.target.value is None:
                return None
            sequence = self.sequence
            self.current = self._probability(sequence)
            if self.edits and self.edits[-1]["after"] is None:  # an edit just applied: its outcome is this
                self.edits[-1]["after"] = self.current
            self.prediction.value = (
                f"<b>p({self.target.value})</b> of the current sequence ({len(sequence)} nt, "
                f"{len(self.edits)} edit{'s' if len(self.edits) != 1 else ''}): {self.current:.4f}"
            )
            self._show_edits()
            first, last = self.region.value
            positions = np.arange(first, max(first + 1, last))
            target, model = self.target.value, self.model
            parts: list[pd.DataFrame] = []

            def work(job: Job) -> None:
                for begin in range(0, len(positions), CHUNK):
                    if job.stopped:
                        return
                    chunk = positions[begin : begin + CHUNK]
                    parts.append(mutagenesis(model, sequence, target=target, positions=chunk, progress=False))
                    job.progress(begin + len(chunk), len(positions))

            def done() -> None:
                if not parts or sequence != self.sequence:
                    return
                result = pd.concat(parts)
                result.attrs = parts[0].attrs
                self.result = result
                self._draw()

            return self.start(work, done=done, what="mapping")
        return None

    def _draw(self) -> None:
        figure = new_figure(min(40, max(6, len(self.result) / 14)), 3.6)
        axes = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 1.1]})
        plot_mutagenesis(self.result, self.sequence, ax=axes)
        show_figure(self.figure, figure)

    def apply(self, position: int, base: str) -> None:
        """Substitute ``base`` at 0-based ``position`` of the current sequence; the map is recomputed."""
        with self.reporting():
            sequence = self.sequence
            if not 0 <= position < len(sequence):
                raise InputFormatError(f"Position {position} is outside the {len(sequence)}-nt sequence (0-based).")
            if not isinstance(base, str) or base.upper() not in set("ACGTN"):
                raise InputFormatError(f"base = {base!r}; substitute one of A, C, G, T or N.")
            base = base.upper()
            if sequence[position] == base:
                raise InputFormatError(f"Position {position} already holds {base}; choose another base.")
            before = self.current  # shown since the last refresh: not predicted again
            edited = sequence[:position] + base + sequence[position + 1 :]
            self.edits.append(
                {"position": position, "ref": sequence[position], "alt": base, "before": before, "after": None}
            )
            self.history.append(edited)
            self.undone.clear()
            self.undone_edits.clear()
            self.refresh()

    def undo(self) -> None:
        """Take back the last applied edit."""
        with self.reporting():
            if len(self.history) == 1:
                raise InputFormatError("Nothing to undo.")
            self.undone.append(self.history.pop())
            self.undone_edits.append(self.edits.pop())
            self.refresh()

    def redo(self) -> None:
        """Apply again the last edit taken back."""
        with self.reporting():
            if not self.undone:
                raise InputFormatError("Nothing to redo.")
            self.history.append(self.undone.pop())
            self.edits.append(self.undone_edits.pop())
            self.refresh()

    def _show_edits(self) -> None:
        self.edits_table.value = html_table(self.table) if self.edits else "<i>No edits applied yet.</i>"
