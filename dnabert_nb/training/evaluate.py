"""evaluate: the metrics of a fine-tuned model on labelled data, window-averaged as predict reports them."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import torch

from .._docs import shared_docs
from ..core.inference import DEFAULT_BATCH_SIZE, average_windows, logits, run_windows, to_probabilities
from ..core.model import DNABERTModel
from ..dna.errors import InputFormatError, ModelTaskError
from ..io.labelled import as_labelled
from .baseline import KmerBaseline
from .metrics import LOWER_IS_BETTER, classification_metrics, multilabel_metrics, regression_metrics
from .targets import encode_targets, task_loss, warn_one_class, warn_shared_sequences


@shared_docs
def evaluate(
    model: DNABERTModel,
    data: object,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    precision: str | None = None,
    progress: bool = True,
    baseline: bool | KmerBaseline = False,
) -> dict[str, float] | pd.DataFrame:
    """Score a model with a task head on labelled data, alone or beside the k-mer baseline.

    Parameters
    ----------
    model
        A fine-tuned :class:`DNABERTModel`.
    data
        As for :func:`dnabert_nb.finetune` (a GUE folder is read at its test split). Classification data of one
        class raises a :class:`~dnabert_nb.DataWarning` (MCC and AUROC cannot compare models on it), as do
        sequences the model was fine-tuned on in this session (``model.training_digest``).
    {batch_size}
    {precision}
    {progress}
    baseline
        True: score the k-mer baseline ``finetune`` fitted beside the model (its ``.baseline``) on the same
        data, and return both; or a :class:`~dnabert_nb.KmerBaseline` (``dn.baseline(train, valid)``) to use.

    Returns
    -------
    dict or DataFrame
        Classification: ``accuracy``, ``macro_f1``, ``mcc`` (-1..1), ``precision``, ``recall``
        (macro), ``auroc``, ``auprc`` (binary: of the second class; multi-class: macro
        one-vs-rest). Multi-label: ``micro_f1``, ``macro_f1``, ``mcc`` (macro), ``auroc``,
        ``auprc`` and per-label ``f1_<label>``, ``mcc_<label>``, ``auroc_<label>``. Regression:
        ``mse``, ``mae``, ``pearson``, ``spearman``, ``r2``. Plus ``loss`` (the training loss) and
        ``n``, the number of sequences. With ``baseline``: a DataFrame of these scores, one row for the
        ``"model"`` and one for the ``"k-mer baseline"`` (its ``k`` in a column of its own).

    Raises
    ------
    ModelTaskError
        The model has no task head; or ``baseline=True`` and it carries no baseline (a loaded model, a
        multi-label or regression task, or fine-tuning without ``valid``), or the baseline's classes differ.
    """
    if model.task is None:
        raise ModelTaskError("This model has no task head to evaluate; fine-tune it first (dn.finetune).")
    base = chosen_baseline(model, baseline)
    labelled = as_labelled(data, "evaluation", split="test")
    targets = encode_targets(labelled.labels, model.task, model.labels, "evaluation")
    if model.task == "classification":
        warn_one_class(targets, model.labels, stacklevel=3)
    if model.training_digest is not None:
        warn_shared_sequences(model.training_digest, labelled.sequences, labelled.ids, stacklevel=3)
    result = scores(model, labelled.sequences, targets, batch_size=batch_size, precision=precision, progress=progress)
    if base is None:
        return result
    base_targets = encode_targets(labelled.labels, base.task, base.labels, "evaluation")
    rows = {"model": result, "k-mer baseline": {**base.scores(labelled.sequences, base_targets), "k": base.k}}
    return pd.DataFrame.from_dict(rows, orient="index").astype({"k": "Int64"}).rename_axis("scored")


def chosen_baseline(model: DNABERTModel, baseline: bool | KmerBaseline) -> KmerBaseline | None:
    """The baseline ``evaluate(baseline=...)`` scores beside ``model``: None, the model's own, or the one given."""
    if baseline is False:
        return None
    if baseline is True:
        if model.baseline is None:
            raise ModelTaskError(
                "This model carries no k-mer baseline: finetune fits one only for classification with valid "
                "data, and a saved model does not keep it. Fit one on the training data and pass it: "
                "evaluate(model, test, baseline=dn.baseline(train, valid))."
            )
        baseline = model.baseline
    if not isinstance(baseline, KmerBaseline):
        raise InputFormatError(
            f"baseline = {baseline!r}; give True (the model's own), False, or a KmerBaseline (dn.baseline)."
        )
    if model.task != baseline.task or set(baseline.labels) != set(model.labels):
        raise ModelTaskError(
            f"The baseline classifies {baseline.labels} and the model is a {model.task} model of {model.labels}; "
            "fit the baseline on the data the model was fine-tuned on."
        )
    return baseline


class EvaluationOutputs(NamedTuple):
    """A model's outputs for each evaluated sequence, its windows averaged."""

    logits: np.ndarray
    """Window-averaged logits (the loss reads these: the training loss for one-window sequences)."""
    outputs: np.ndarray
    """Window-averaged probabilities, or values for regression (the metrics read these, as ``predict`` reports)."""

    def take(self, rows: np.ndarray) -> EvaluationOutputs:
        """The outputs of ``rows`` alone."""
        return EvaluationOutputs(self.logits[rows], self.outputs[rows])


def scores(
    model: DNABERTModel,
    sequences: list,
    targets: np.ndarray,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    precision: str | None = None,
    progress: bool = False,
) -> dict[str, float]:
    """Loss and metrics of ``model`` on encoded targets; long sequences average their windows."""
    outputs = window_outputs(model, sequences, batch_size=batch_size, precision=precision, progress=progress)
    return output_scores(model.task, targets, outputs, model.labels)


def window_outputs(
    model: DNABERTModel,
    sequences: list,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    precision: str | None = None,
    progress: bool = False,
) -> EvaluationOutputs:
    """``model``'s window-averaged logits and probabilities (or values) of each sequence."""
    result = run_windows(
        model,
        sequences,
        logits,
        batch_size=batch_size,
        precision=precision,
        window_overlap=None,
        progress=progress,
        description="evaluate",
    )
    return EvaluationOutputs(
        average_windows(result.windows, result.values, len(result.ids)),
        average_windows(result.windows, to_probabilities(model.task, result.values), len(result.ids)),
    )


def output_scores(
    task: str, targets: np.ndarray, outputs: EvaluationOutputs, labels: list[str], names: tuple[str, ...] | None = None
) -> dict[str, float]:
    """The loss, the metrics and ``n`` of ``outputs`` for encoded ``targets``; or only the scores in ``names``."""
    result = {}
    if names is None or "loss" in names:
        result["loss"] = float(task_loss(task, torch.from_numpy(outputs.logits), torch.from_numpy(targets), None))
    metric_names = None if names is None else tuple(name for name in names if name != "loss")
    if metric_names is None or metric_names:
        result.update(_metrics(task, targets, outputs.outputs, labels, metric_names))
    if names is None:
        result["n"] = len(targets)
    return result


def bootstrap_wins(
    task: str,
    targets: np.ndarray,
    first: EvaluationOutputs,
    second: EvaluationOutputs,
    metric: str,
    labels: list[str],
    *,
    resamples: int = 200,
    seed: int = 0,
) -> float:
    """The share of bootstrap resamples of the rows on which ``first`` scores better than ``second``.

    Parameters
    ----------
    task, targets, labels
        The task, its encoded targets and its label names, as for :func:`output_scores`.
    first, second
        Two models' outputs for the same rows (paired: each resample draws the same rows for both).
    metric
        A score :func:`output_scores` reports; lower is better for those in :data:`LOWER_IS_BETTER`. A tie, or
        a score undefined on a resample (NaN), is not a win.
    resamples, seed
        The number of resamples and their random draw.

    Returns
    -------
    float
        Between 0 and 1; 1 minus it is the one-sided bootstrap p-value of "``first`` is better".
    """
    rng = np.random.default_rng(seed)
    sign = -1 if metric in LOWER_IS_BETTER else 1
    wins = 0
    for _ in range(resamples):
        rows = rng.integers(0, len(targets), len(targets))
        a, b = (output_scores(task, targets[rows], o.take(rows), labels, (metric,))[metric] for o in (first, second))
        wins += bool(sign * (a - b) > 0)
    return wins / resamples


def _metrics(
    task: str, targets: np.ndarray, outputs: np.ndarray, labels: list[str], names: tuple[str, ...] | None
) -> dict[str, float]:
    if task == "classification":
        return classification_metrics(targets, outputs, names)
    if task == "multilabel":
        every = multilabel_metrics(targets, outputs, labels)
    else:
        every = regression_metrics(targets, outputs)
    return every if names is None else {name: every[name] for name in names}
