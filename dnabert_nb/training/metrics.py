"""Task metrics (scikit-learn underneath): classification, multi-label and regression."""

from __future__ import annotations

import warnings

import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn import metrics as skm

from ..dna.errors import InputFormatError

#: Scores of every evaluation by task (multi-label adds ``f1_``, ``mcc_`` and ``auroc_<label>``), besides ``loss``.
METRIC_NAMES = {
    "classification": ("accuracy", "macro_f1", "mcc", "precision", "recall", "auroc", "auprc"),
    "multilabel": ("micro_f1", "macro_f1", "mcc", "auroc", "auprc"),
    "regression": ("mse", "mae", "pearson", "spearman", "r2"),
}
#: Scores that are better when smaller; every other score is better when larger.
LOWER_IS_BETTER = frozenset({"loss", "mse", "mae"})
#: Probabilities are floored here before their log, so that a class predicted at exactly 0 gives a finite loss.
PROBABILITY_FLOOR = 1e-12


def log_probabilities(probabilities: np.ndarray) -> np.ndarray:
    """Natural log of predicted probabilities, floored at :data:`PROBABILITY_FLOOR`."""
    return np.log(np.clip(probabilities, PROBABILITY_FLOOR, None))


def check_metric(metric: str, task: str, labels: list[str]) -> None:
    """Refuse a metric name that evaluation of this task does not report, listing the ones it does."""
    names = ["loss", *METRIC_NAMES[task]]
    if task == "multilabel":
        names += [f"{kind}_{label}" for label in labels for kind in ("f1", "mcc", "auroc")]
    if metric not in names:
        raise InputFormatError(f"metric = {metric!r} is not a {task} score; use one of {', '.join(names)}.")


def _safe(function, *args, **kwargs) -> float:
    """A metric that is undefined for this data (e.g. AUROC with one class present) is NaN."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(function(*args, **kwargs))
    except ValueError:
        return float("nan")


def matthews_correlation(targets: np.ndarray, predicted: np.ndarray, n_classes: int) -> float:
    """MCC of predicted class indices, from their confusion matrix: scikit-learn's ``matthews_corrcoef`` (0 where
    it is undefined) without its input checks, which cost 50 times the sum itself when bootstrap resamples need
    hundreds of MCCs."""
    confusion = np.bincount(targets * n_classes + predicted, minlength=n_classes * n_classes)
    confusion = confusion.reshape(n_classes, n_classes).astype(np.float64)
    true, chosen, total = confusion.sum(axis=1), confusion.sum(axis=0), confusion.sum()
    covariance = np.trace(confusion) * total - true @ chosen
    scale = np.sqrt((total**2 - chosen @ chosen) * (total**2 - true @ true))
    return float(covariance / scale) if scale else 0.0


def classification_metrics(
    targets: np.ndarray, probabilities: np.ndarray, names: tuple[str, ...] | None = None
) -> dict[str, float]:
    """Accuracy, macro F1, MCC (-1..1), macro precision and recall, AUROC and AUPRC; or those of them in ``names``.

    Binary: AUROC/AUPRC of the second class; multi-class: macro one-vs-rest.
    """
    predicted = probabilities.argmax(axis=1)
    n_classes = probabilities.shape[1]
    macro = {"average": "macro", "labels": range(n_classes), "zero_division": 0}
    if n_classes == 2:
        ranked = (targets, probabilities[:, 1])
    else:
        ranked = (np.eye(n_classes)[targets], probabilities)
    scorers = {
        "accuracy": lambda: float(skm.accuracy_score(targets, predicted)),
        "macro_f1": lambda: _safe(skm.f1_score, targets, predicted, **macro),
        "mcc": lambda: matthews_correlation(targets, predicted, n_classes),
        "precision": lambda: _safe(skm.precision_score, targets, predicted, **macro),
        "recall": lambda: _safe(skm.recall_score, targets, predicted, **macro),
        "auroc": lambda: _safe(skm.roc_auc_score, *ranked, average="macro"),
        "auprc": lambda: _safe(skm.average_precision_score, *ranked, average="macro"),
    }
    return {name: scorers[name]() for name in (METRIC_NAMES["classification"] if names is None else names)}


def multilabel_metrics(targets: np.ndarray, probabilities: np.ndarray, labels: list[str]) -> dict[str, float]:
    """Micro and macro F1, macro MCC (``mcc``), AUROC, AUPRC, and per-label F1/MCC/AUROC (``f1_<label>``...)."""
    predicted = (probabilities >= 0.5).astype(int)
    per_label = {}
    for column, name in enumerate(labels):
        per_label[f"f1_{name}"] = _safe(skm.f1_score, targets[:, column], predicted[:, column], zero_division=0)
        per_label[f"mcc_{name}"] = _safe(skm.matthews_corrcoef, targets[:, column], predicted[:, column])
        per_label[f"auroc_{name}"] = _safe(skm.roc_auc_score, targets[:, column], probabilities[:, column])
    result = {
        "micro_f1": _safe(skm.f1_score, targets, predicted, average="micro", zero_division=0),
        "macro_f1": _safe(skm.f1_score, targets, predicted, average="macro", zero_division=0),
        "mcc": float(np.nanmean([per_label[f"mcc_{name}"] for name in labels])),
        "auroc": _safe(skm.roc_auc_score, targets, probabilities, average="macro"),
        "auprc": _safe(skm.average_precision_score, targets, probabilities, average="macro"),
    }
    return {**result, **per_label}


def regression_metrics(targets: np.ndarray, values: np.ndarray) -> dict[str, float]:
    """MSE, MAE, Pearson and Spearman correlation, R² (averaged over outputs)."""
    targets, values = targets.reshape(len(targets), -1), values.reshape(len(values), -1)
    correlations = [
        (_safe(lambda a, b: pearsonr(a, b)[0], t, v), _safe(lambda a, b: spearmanr(a, b)[0], t, v))
        for t, v in zip(targets.T, values.T)
    ]
    return {
        "mse": float(skm.mean_squared_error(targets, values)),
        "mae": float(skm.mean_absolute_error(targets, values)),
        "pearson": float(np.mean([c[0] for c in correlations])),
        "spearman": float(np.mean([c[1] for c in correlations])),
        "r2": _safe(skm.r2_score, targets, values),
    }
