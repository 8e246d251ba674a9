"""TrainingPanel: choose data and settings, Start and Stop fine-tuning, watch the curves, see the test scores."""

from __future__ import annotations

import html
import inspect
import math
import warnings

import ipywidgets as widgets
import numpy as np
import pandas as pd

from ..core.inference import default_window_overlap
from ..core.model import DNABERTModel, load
from ..core.predict import predict
from ..datasets import catalog
from ..datasets import load as load_dataset
from ..dna.errors import InputFormatError
from ..pl.evaluation import confusion, roc
from ..pl.training import training_curves
from ..training.callbacks import CurvesCallback
from ..training.evaluate import evaluate
from ..training.finetune import FinetuneConfig, finetune
from ..training.loop import TrainingState
from ..training.schedule import AUTO_EPOCHS, AUTO_PASSES, AUTO_STEPS, auto_epochs
from ..training.selection import linear_probe, model_kind
from ._inputs import uploaded_labelled
from ._model_choice import SharedModel, as_shared
from ._panel import Job, Panel, duration_words, figure_image, first_sentence, html_table, new_figure, show_figure

UPLOADED = "uploaded file"
FINETUNE_DEFAULTS = inspect.signature(finetune).parameters
#: What the Epochs menu offers; "auto" is finetune's step budget with early stopping.
EPOCH_CHOICES = ("auto", 1, 2, 3, 5, 10, 20, 30)
#: What the Recipe menu offers: the linear probe alone (a minute or two on 2 CPU cores), or a full fine-tune.
QUICK, FULL = "linear probe", "fine-tune"
#: Seconds a fine-tuning step of 32 full windows of the embedded model takes on 2 CPU cores, fast (bf16) to slow
#: (fp32, AVX2): for the Recipe menu's estimate, scaled by the data's window length.
STEP_SECONDS = (0.5, 1.2)


def fine_tune_seconds(model: DNABERTModel, sequences: list[str], batch_size: int = 32) -> tuple[int, float, float]:
    """``finetune``'s ``epochs="auto"`` step count for ``sequences`` and the seconds its steps take on 2 CPU cores
    (fast, slow), estimated from :data:`STEP_SECONDS` and the windows' length. A GPU takes a small part of that."""
    tokenizer = model.tokenizer
    windows = tokenizer.windows([len(sequence) for sequence in sequences], overlap=default_window_overlap(tokenizer))
    steps_per_epoch = max(1, math.ceil(len(windows.start) / batch_size))
    steps = steps_per_epoch * auto_epochs(steps_per_epoch)
    share = float(np.mean(windows.end - windows.start)) / tokenizer.max_nucleotides
    return steps, *(steps * seconds * share for seconds in STEP_SECONDS)


#: What the Head menu offers: finetune's own choice (a new head reads the k-mer mean, a model's own head keeps its
#: pooling), or either pooling asked for.
HEAD_CHOICES = (
    ("default", "default"),  # a string: a Dropdown whose value is None shows nothing selected
    ("mean of k-mers", "mean"),
    ("[CLS] (DNABERT)", "cls"),
)
#: Shares of the rows for train / valid / test when uploaded data has no ``split`` column.
RANDOM_SPLIT = (0.8, 0.1, 0.1)


def split_table(table: pd.DataFrame, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Train, valid and test parts: by the ``split`` column when there is one, else at random (80/10/10)."""
    if "split" in table.columns:
        parts = {name: table[table["split"] == name] for name in ("train", "valid", "test")}
    else:
        order = np.random.default_rng(seed).permutation(len(table))
        cut = np.cumsum([int(round(share * len(table))) for share in RANDOM_SPLIT[:2]])
        parts = dict(zip(("train", "valid", "test"), (table.iloc[rows] for rows in np.split(order, cut))))
    if len(parts["train"]) == 0:
        raise InputFormatError("The data has no training rows (split column 'train', or too few rows).")
    return parts


class _PanelCallback(CurvesCallback):
    """Tells the panel of each step and evaluation, and stops the loop when the panel's job is stopped."""

    def __init__(self, panel: TrainingPanel, job: Job):
        self.panel, self.job = panel, job

    def on_step(self, state: TrainingState, row: dict | None) -> None:
        self.job.progress(state.step, state.total_steps, "training steps")
        super().on_step(state, row)
        if self.job.stopped:
            state.request_stop()

    def on_phase(self, phase: str, done: int, total: int) -> None:
        self.job.progress(done, total, phase)

    def wants_stop(self) -> bool:
        return self.job.stopped

    def on_end(self, state: TrainingState) -> None:
        """Nothing: the panel draws the final curves, with the k-mer baseline, when ``finetune`` returns."""

    def draw(self, history: pd.DataFrame) -> None:
        self.panel.show_curves(history)


class TrainingPanel(Panel):
    """Fine-tune a model on a shipped dataset or an uploaded labelled file, with Start and Stop.

    Stop ends the run after the current step and keeps the best model so far. The result is ``panel.model``
    (also put in the shared slot for the other panels), its test scores ``panel.metrics``, the data it was trained
    on ``panel.parts`` (``train``, ``valid``, ``test``); each run starts from ``panel.base`` (the model given, or the
    embedded pre-trained model when that is None). The Head menu is finetune's ``pooling``: a model meant for
    the Motifs panel wants a [CLS] head.

    Parameters
    ----------
    model
        The model to start from each time (None: the embedded model), or a :class:`SharedModel` of other panels.
    dataset
        The shipped dataset selected at first.
    """

    def __init__(self, model: DNABERTModel | SharedModel | None = None, *, dataset: str = "splice"):
        self.shared = as_shared(model)
        self.base = self.shared.model
        self.model: DNABERTModel | None = None
        self.metrics: dict[str, float] | None = None
        self.parts: dict[str, pd.DataFrame] | None = None
        self._embedded_model: DNABERTModel | None = None
        names = list(catalog()["name"])
        self.data = widgets.Dropdown(options=[*names, UPLOADED], value=dataset, description="Data")
        self.upload = widgets.FileUpload(accept=".csv,.tsv,.txt,.fa,.fasta,.fna,.gz", description="Upload")
        self.upload.observe(lambda _: setattr(self.data, "value", UPLOADED), names="value")
        self.task = widgets.Dropdown(
            options=["auto", "classification", "multilabel", "regression"], value="auto", description="Task"
        )
        self.epochs = widgets.Dropdown(
            options=EPOCH_CHOICES,
            value="auto",
            description="Epochs",
            tooltip=f"auto: {AUTO_PASSES} epochs in {AUTO_STEPS[0]:,} to {AUTO_STEPS[1]:,} steps where they fit "
            f"({AUTO_EPOCHS[0]} to {AUTO_EPOCHS[1]} epochs, stops early), {AUTO_EPOCHS[0]} epochs on large data",
        )
        self.pooling = widgets.Dropdown(
            options=HEAD_CHOICES,
            value="default",
            description="Head",
            tooltip="what the task head reads; default: the mean of the k-mer tokens for a new head. "
            "[CLS]: DNABERT's head, for attention motifs on few sequences",
        )
        self.lr = widgets.BoundedFloatText(
            value=FINETUNE_DEFAULTS["lr"].default, min=1e-6, max=1e-2, step=1e-5, description="Learning rate"
        )
        self.rows = widgets.BoundedIntText(
            value=0, min=0, max=10**7, description="Train rows", tooltip="use at most this many (0: all)"
        )
        self.recipe = widgets.Dropdown(description="Recipe", layout=widgets.Layout(width="640px"))
        self.data.observe(lambda _: self._offer_recipes(), names="value")
        self.rows.observe(lambda _: self._offer_recipes(), names="value")
        self.start_button = widgets.Button(description="Start", button_style="success", icon="play")
        self.start_button.on_click(lambda _: self.train())
        self.notes = widgets.HTML()
        self.curves = figure_image()
        self.scores = widgets.HTML()
        self.plots = figure_image()
        super().__init__(
            [
                widgets.HBox([self.data, self.upload]),
                self.recipe,
                widgets.HBox([self.task, self.epochs, self.pooling]),
                widgets.HBox([self.lr, self.rows]),
                self.start_button,
                self.notes,
                self.curves,
                self.scores,
                self.plots,
            ],
            status_after=5,
        )
        self._offer_recipes()

    def _offer_recipes(self) -> None:
        """The Recipe menu, with the fine-tune's step count and estimated time for the chosen data."""
        full = "full fine-tune (every weight; minutes to an hour)"
        with self.reporting():
            train = self._data()["train"]
            steps, fast, slow = fine_tune_seconds(self._start_model(), list(train["sequence"]))
            full = (
                f"full fine-tune: {steps:,} steps, about {duration_words(fast)} to {duration_words(slow)} on 2 CPU "
                "cores (less on a GPU)"
            )
        chosen = self.recipe.value or QUICK
        self.recipe.options = [("quick: linear probe on the frozen encoder (a minute or two)", QUICK), (full, FULL)]
        self.recipe.value = chosen

    def _start_model(self) -> DNABERTModel:
        """What a run starts from: ``base``, or the embedded pre-trained model (loaded once) when that is None."""
        if self.base is not None:
            return self.base
        if self._embedded_model is None:
            self._embedded_model = load()
        return self._embedded_model

    def _data(self) -> dict[str, pd.DataFrame]:
        table = uploaded_labelled(self.upload.value) if self.data.value == UPLOADED else load_dataset(self.data.value)
        parts = split_table(table)
        if self.rows.value:
            parts["train"] = parts["train"].sample(n=min(self.rows.value, len(parts["train"])), random_state=0)
        return parts

    def train(self) -> Job | None:
        """Start fine-tuning in the background (Stop ends it after the current step, keeping the best model)."""
        with self.reporting():
            config = FinetuneConfig(  # a bad setting is named here, before the data is read
                task=self.task.value,
                epochs=self.epochs.value,
                lr=self.lr.value,
                pooling=None if self.pooling.value == "default" else self.pooling.value,
                progress=False,
                live_plot=False,
            )
            parts = self.parts = self._data()
            base = self._start_model()
            valid = parts["valid"] if len(parts["valid"]) else None
            self.start_button.disabled = True

            def work(job: Job) -> None:
                self.notes.value = self.scores.value = ""  # the last run's results are gone: nothing stale stays
                self.plots.layout.display = self.curves.layout.display = "none"
                with warnings.catch_warnings(record=True) as caught:  # shown in the panel, in plain words
                    warnings.simplefilter("always")
                    try:
                        if self.recipe.value == QUICK:
                            self.model = linear_probe(
                                base, parts["train"], valid, progress=False, callbacks=[_PanelCallback(self, job)]
                            )
                        else:
                            options = {**config.options(), "callbacks": [_PanelCallback(self, job)]}
                            self.model = finetune(base, parts["train"], valid, **options)
                    finally:
                        self.start_button.disabled = False
                    self.shared.model = self.model
                    if self.model.history is not None:  # a probe alone has no curves
                        self.show_curves(self.model)  # every point (redraws were spaced out), the baseline, a probe
                    if len(parts["test"]):
                        self._test(parts["test"])
                    self.show_notes(caught)

            return self.start(work, what="training")
        return None

    def show_notes(self, caught: list[warnings.WarningMessage]) -> None:
        """Show each distinct warning of a run as one plain sentence under the Start button."""
        notes = dict.fromkeys(first_sentence(str(warning.message)) for warning in caught)
        self.notes.value = "".join(f"<div>Note: {html.escape(note)}</div>" for note in notes)

    def show_curves(self, history: pd.DataFrame | DNABERTModel) -> None:
        """Draw the training curves so far, or those of the model ``finetune`` returned (with the k-mer baseline's
        valid MCC, and a kept linear probe's)."""
        figure = new_figure(10, 3.2)
        training_curves(history, ax=figure.subplots(1, 2))
        show_figure(self.curves, figure)

    def _test(self, test: pd.DataFrame) -> None:
        self.metrics = evaluate(self.model, test, progress=False)
        rows = {model_kind(self.model): self.metrics}
        if self.model.baseline is not None:  # the bar to clear, fitted by finetune on the same rows
            rows[f"k-mer baseline (k={self.model.baseline.k})"] = self.model.baseline.evaluate(test)
        table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("model").reset_index()
        shown = table[[column for column in table if not column.startswith(("f1_", "mcc_", "auroc_"))]]
        self.scores.value = "<b>Test scores</b>" + html_table(shown)
        if self.model.task != "classification":
            return
        predictions = predict(self.model, test, progress=False)
        figure = new_figure(9, 4)
        left, right = figure.subplots(1, 2)
        confusion(predictions, test["label"].astype(str).tolist(), ax=left)
        roc(predictions, test["label"].astype(str).tolist(), ax=right)
        show_figure(self.plots, figure)
