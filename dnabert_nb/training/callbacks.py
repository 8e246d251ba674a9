"""Callbacks: what the training loop tells the outside world, and how the outside world stops it.

A callback is told of the start, every step (with the history row logged at that step, if any), every
evaluation and the end. It may call ``state.request_stop()`` to end the run after the current step; the
loop then evaluates, saves ``last/`` and returns the best model so far. The progress bar is one; the live
figure of a notebook (made by :mod:`dnabert_nb.pl`, which training never imports) and the training panel
are others.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import pandas as pd
from tqdm.auto import tqdm

from ..dna.errors import InputFormatError

if TYPE_CHECKING:
    from .loop import TrainingState

#: Curves shown while training are redrawn at most this often (seconds): a matplotlib redraw takes about half a
#: second on a CPU core, as long as several steps of a small model, and runs between the steps.
REDRAW_SECONDS = 2.0


class Callback:
    """Base class: override the moments you need; each gets the loop's :class:`~.loop.TrainingState`."""

    def on_start(self, state: TrainingState) -> None:
        """Before the first step (of this call: a resumed run starts at its saved step)."""

    def on_step(self, state: TrainingState, row: dict | None) -> None:
        """After every optimizer step; ``row`` is the history row logged at this step, or None."""

    def on_evaluate(self, state: TrainingState, scores: dict[str, float]) -> None:
        """After every evaluation; ``scores`` are the evaluation's metrics (without the ``valid_`` prefix)."""

    def on_end(self, state: TrainingState) -> None:
        """After the last step, an early stop or a requested stop."""

    def on_phase(self, phase: str, done: int, total: int) -> None:
        """Progress of work before, between or after the steps: ``phase`` is ``"k-mer baseline"`` (0 of 1, then 1
        of 1), ``"evaluation"`` (at step ``done`` of ``total``, before it), ``"linear probe features"`` (sequences
        read) or ``"linear probe fits"`` (regressions fitted), ``done`` of ``total``."""

    def wants_stop(self) -> bool:
        """Asked between pieces of work that are not steps: True after the k-mer baseline ends the run before
        training (``TrainingError``); during the linear probe it ends the probe and keeps the fine-tuned network
        evaluated so far. Steps are stopped with ``state.request_stop()``."""
        return False


class ProgressBar(Callback):
    """A tqdm progress bar over the steps, with the latest loss and evaluation score beside it.

    Parameters
    ----------
    description
        The bar's label, e.g. ``"finetune"``.
    metric
        The evaluation score shown beside the loss; None shows none.
    """

    def __init__(self, description: str, metric: str | None = None):
        self.description, self.metric = description, metric
        self.bar: tqdm | None = None
        self.shown: dict[str, str] = {}

    def on_start(self, state: TrainingState) -> None:
        self.bar = tqdm(total=state.total_steps, initial=state.step, desc=self.description, unit="step")

    def on_step(self, state: TrainingState, row: dict | None) -> None:
        self.bar.update(1)
        if row is not None and "loss" in row:
            self.shown["loss"] = f"{row['loss']:.4f}"
            self.bar.set_postfix(self.shown)

    def on_evaluate(self, state: TrainingState, scores: dict[str, float]) -> None:
        if self.metric in scores:
            self.shown[f"valid_{self.metric}"] = f"{scores[self.metric]:.4f}"
            self.bar.set_postfix(self.shown)

    def on_end(self, state: TrainingState) -> None:
        self.bar.close()


class CurvesCallback(Callback):
    """Base class of callbacks that draw the training curves as the history grows (the live figure, the panel).

    :meth:`draw` runs at logged steps and evaluations, at most every :data:`REDRAW_SECONDS`, and once more at the
    end with every point.
    """

    drawn = float("-inf")  # when the curves were last drawn (time.monotonic)

    def draw(self, history: pd.DataFrame) -> None:
        """Draw the curves of ``history`` (the loop's rows so far)."""
        raise NotImplementedError

    def on_step(self, state: TrainingState, row: dict | None) -> None:
        if row is not None:
            self.redraw(state)

    def on_evaluate(self, state: TrainingState, scores: dict[str, float]) -> None:
        self.redraw(state)

    def on_end(self, state: TrainingState) -> None:
        if state.history:  # a run stopped before its first logged row has nothing to draw
            self.draw(pd.DataFrame(state.history))

    def redraw(self, state: TrainingState) -> None:
        """Draw the curves so far, unless they were drawn less than :data:`REDRAW_SECONDS` ago."""
        if time.monotonic() - self.drawn >= REDRAW_SECONDS:
            self.draw(pd.DataFrame(state.history))
            self.drawn = time.monotonic()


#: Makes the live figure of the training curves shown in a notebook; set by :mod:`dnabert_nb.pl` on import.
_live_figure: Callable[..., Callback] | None = None


def register_live_figure(factory: Callable[..., Callback]) -> None:
    """Set what ``live_plot=True`` (or ``"auto"`` in a notebook) adds to a training run's callbacks.

    ``factory`` is called with a run's ``live_plot_options`` as keyword arguments.
    """
    global _live_figure
    _live_figure = factory


def in_notebook() -> bool:
    """True inside a Jupyter kernel."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def standard_callbacks(
    description: str,
    *,
    progress: bool,
    live_plot: bool | str,
    metric: str | None,
    is_main: bool,
    callbacks: list[Callback] | tuple = (),
    live_plot_options: dict | None = None,
) -> list[Callback]:
    """The progress bar and the live figure a verb's options ask for, then the user's ``callbacks``.

    ``live_plot_options`` go to the live figure (see :func:`register_live_figure`).

    Only the first process of a run shows anything; user callbacks run in every process.
    """
    chosen: list[Callback] = []
    if progress and is_main:
        chosen.append(ProgressBar(description, metric))
    if is_main and _live_figure is not None and (live_plot is True or (live_plot == "auto" and in_notebook())):
        chosen.append(_live_figure(**(live_plot_options or {})))
    return [*chosen, *require_callbacks(callbacks)]


def require_callbacks(callbacks: Sequence[Callback]) -> list[Callback]:
    """``callbacks`` as a list, each checked to be a :class:`Callback`.

    Raises
    ------
    InputFormatError
        One is not a :class:`Callback` instance.
    """
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise InputFormatError(
                f"callbacks holds a {type(callback).__name__}; give instances of dnabert_nb.Callback subclasses."
            )
    return list(callbacks)
