"""DesignPanel: design a sequence toward a class under constraints, watch its path, and see what was edited."""

from __future__ import annotations

import html
import re

import ipywidgets as widgets
import pandas as pd

from ..core.model import DNABERTModel
from ..designer.search import METHODS, DesignResult, design
from ..dna.errors import InputFormatError, ModelTaskError
from ..pl.design import design_trajectory
from ._model_choice import SharedModel, as_shared
from ._panel import Job, Panel, figure_image, html_table, new_figure, show_figure

#: Restriction sites offered as forbidden motifs by default: EcoRI and BamHI, the usual cloning pair.
DEFAULT_FORBIDDEN = "GAATTC, GGATCC"


def parse_positions(text: str) -> list[int]:
    """0-based positions from text such as ``"0-9, 50, 60-62"`` (ranges include both ends)."""
    positions: list[int] = []
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        match = re.fullmatch(r"(\d+)\s*(?:-\s*(\d+))?", part)
        if match is None:
            raise InputFormatError(f"Fixed positions: {part!r} is not a position or a range such as 0-9.")
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        positions.extend(range(first, last + 1))
    return positions


def highlighted(start: str, sequence: str) -> str:
    """``sequence`` as HTML in a monospace font, each edited base marked (the start's base in its tooltip)."""
    letters = [
        f'<span class="dn-edit" title="position {i}: {a} to {b}" style="background:#ffd54f;font-weight:bold">{b}</span>'
        if a != b
        else b
        for i, (a, b) in enumerate(zip(start, sequence))
    ]
    return f'<div style="font-family:monospace;word-break:break-all;max-width:800px">{"".join(letters)}</div>'


class DesignPanel(Panel):
    """Design one sequence toward a class, under constraints, with an optional independent judge.

    Paste a start (or leave it empty for a random one of the given length), choose the class, the method and
    the constraints, and press Run: the search (:func:`dnabert_nb.design`) runs in the background with a
    progress bar and Stop; then the trajectory (:func:`dnabert_nb.pl.design_trajectory`), the designed
    sequence with its edits highlighted, and the table. ``panel.result`` is the :class:`DesignResult`,
    ``panel.table`` its designs, ``panel.sequence`` the designed sequence.

    Parameters
    ----------
    model
        The designer, a model with a task head (or a :class:`SharedModel` of other panels).
    start
        The sequence to start from; None: a random start.
    judge
        An independent model or k-mer baseline (:func:`dnabert_nb.baseline`) that scores the design too.
    """

    def __init__(self, model: DNABERTModel | SharedModel, start: str | None = None, *, judge: object = None) -> None:
        self.shared = as_shared(model)
        self.judge = judge
        self.result: DesignResult | None = None
        wide = widgets.Layout(width="700px")
        label = {"description_width": "initial"}
        self.start_text = widgets.Textarea(
            value=start or "", placeholder="Start sequence (empty: a random one)", description="Start", layout=wide
        )
        self.length = widgets.BoundedIntText(value=100, min=10, max=5000, description="Random length", style=label)
        self.target = widgets.Dropdown(description="Toward class", style=label)
        self.method = widgets.Dropdown(options=list(METHODS), value="greedy", description="Method")
        self.steps = widgets.IntSlider(value=10, min=1, max=50, description="Steps")
        self.max_edits = widgets.BoundedIntText(value=10, min=0, max=10_000, description="Max edits")
        self.gc = widgets.FloatRangeSlider(value=(0.0, 1.0), min=0.0, max=1.0, step=0.01, description="GC range")
        self.max_homopolymer = widgets.BoundedIntText(
            value=0, min=0, max=100, description="Longest run (0: any)", style=label
        )
        self.forbidden = widgets.Text(value=DEFAULT_FORBIDDEN, description="Forbidden", layout=wide)
        self.fixed = widgets.Text(value="", placeholder="e.g. 0-9, 50", description="Fixed", layout=wide)
        self.run_button = widgets.Button(description="Run", icon="play", button_style="primary")
        self.run_button.on_click(lambda _: self.run())
        self.figure = figure_image()
        self.figure.layout.width = "600px"
        self.designed = widgets.HTML()
        self.designs_table = widgets.HTML()
        super().__init__(
            [
                self.start_text,
                widgets.HBox([self.length, self.target, self.method]),
                widgets.HBox([self.steps, self.max_edits]),
                widgets.HBox([self.gc, self.max_homopolymer]),
                self.forbidden,
                self.fixed,
                self.run_button,
                self.figure,
                self.designed,
                self.designs_table,
            ]
        )
        self.shared.observe(lambda _: self._model_changed(), names="model")
        self._model_changed()

    @property
    def model(self) -> DNABERTModel | None:
        """The designer."""
        return self.shared.model

    @property
    def table(self) -> pd.DataFrame | None:
        """The designs of the last run (one row), or None before one."""
        return None if self.result is None else self.result.designs

    @property
    def sequence(self) -> str | None:
        """The designed sequence of the last run, or None before one."""
        return None if self.result is None else self.result.designs["sequence"].iloc[0]

    def _designer(self) -> DNABERTModel:
        model = self.model
        if model is None or model.task is None:
            raise ModelTaskError("The design panel needs a model with a task head; fine-tune one first.")
        return model

    def _model_changed(self) -> None:
        with self.reporting():
            labels = [str(label) for label in self._designer().labels]
            self.target.options = labels
            self.target.value = labels[-1]

    def options(self) -> dict:
        """The arguments of :func:`dnabert_nb.design` the controls hold."""
        start = "".join(self.start_text.value.split())
        low, high = self.gc.value
        return {
            "start": start or None,
            "length": None if start else self.length.value,
            "method": self.method.value,
            "steps": self.steps.value,
            "max_edits": self.max_edits.value,
            "gc": None if (low, high) == (0.0, 1.0) else (low, high),
            "max_homopolymer": self.max_homopolymer.value or None,
            "forbidden": [motif.strip() for motif in self.forbidden.value.split(",") if motif.strip()],
            "fixed": parse_positions(self.fixed.value),
        }

    def run(self) -> Job | None:
        """Start the design in the background with the controls' settings."""
        with self.reporting():
            model = self._designer()
            options, target, judge = self.options(), self.target.value, self.judge
            found: list[DesignResult] = []

            def work(job: Job) -> None:
                def on_step(row: dict) -> bool:
                    job.progress(row["step"], options["steps"])
                    return job.stopped

                found.append(design(model, target, judge=judge, on_step=on_step, progress=False, **options))

            def done() -> None:
                self.result = found[0]
                self._show()

            return self.start(work, done=done, what="designing")
        return None

    def _show(self) -> None:
        designs = self.result.designs
        figure = new_figure(6.5, 3.4)
        design_trajectory(self.result, ax=figure.subplots())
        show_figure(self.figure, figure)
        row = designs.iloc[0]
        judged = f", judge {row['judge_start_score']:.3f} → {row['judge_score']:.3f}" if self.judge is not None else ""
        self.designed.value = (
            f"<b>Designed</b> ({row['edits']} edits; p({html.escape(str(designs.attrs['target']))}) "
            f"{row['start_score']:.3f} → {row['score']:.3f}{judged}; stopped: {html.escape(row['stopped'])})"
            + highlighted(row["start"], row["sequence"])
        )
        self.designs_table.value = html_table(designs.drop(columns=["start", "sequence"]))
