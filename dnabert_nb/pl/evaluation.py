"""Evaluation plots from predictions: confusion matrix and ROC curves."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from sklearn.metrics import confusion_matrix, roc_auc_score, roc_curve

from ..dna.errors import InputFormatError


def _probability_columns(predictions: pd.DataFrame) -> list[str]:
    columns = [c for c in predictions.columns if c.startswith("prob_")]
    if not columns or "label" not in predictions.columns:
        raise InputFormatError(
            "predictions must be the DataFrame of dn.predict (with 'label' and 'prob_<label>' columns)."
        )
    return columns


def confusion(predictions: pd.DataFrame, truth: Sequence, *, normalize: bool = False, ax: Axes | None = None) -> Axes:
    """Confusion matrix of ``dn.predict`` output against the true labels.

    Parameters
    ----------
    predictions
        The DataFrame from :func:`dnabert_nb.predict` (classification).
    truth
        True labels, in the order of ``predictions`` (names or integers).
    normalize
        Show each true class's row as fractions instead of counts.
    ax
        Axes to draw on; None makes a new figure.
    """
    names = [c.removeprefix("prob_") for c in _probability_columns(predictions)]
    truth = np.asarray([str(v) for v in truth])
    if len(truth) != len(predictions):
        raise InputFormatError(f"{len(truth)} true labels for {len(predictions)} predictions.")
    matrix = confusion_matrix(truth, predictions["label"].astype(str), labels=names).astype(float)
    if normalize:
        matrix = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.2 * len(names) + 2, 1.2 * len(names) + 1.5))
    image = ax.imshow(matrix, cmap="Blues", vmin=0, vmax=max(matrix.max(), 1))  # colour from 0: a count's share
    for (row, column), value in np.ndenumerate(matrix):
        text = f"{value:.2f}" if normalize else f"{int(value)}"
        red, green, blue, _ = image.cmap(image.norm(value))
        dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5  # the cell's luminance decides the text's colour
        ax.text(column, row, text, ha="center", va="center", color="white" if dark else "black")
    ax.set_xticks(range(len(names)), names, rotation=45 if len(names) > 3 else 0)
    ax.set_yticks(range(len(names)), names)
    ax.set(xlabel="predicted", ylabel="true", title="confusion matrix")
    return ax


def roc(predictions: pd.DataFrame, truth: Sequence, *, ax: Axes | None = None) -> Axes:
    """ROC curves of ``dn.predict`` output: the positive (second) class when binary, one-vs-rest per class else.

    Parameters
    ----------
    predictions
        The DataFrame from :func:`dnabert_nb.predict` (classification).
    truth
        True labels, in the order of ``predictions``.
    ax
        Axes to draw on; None makes a new figure.
    """
    columns = _probability_columns(predictions)
    names = [c.removeprefix("prob_") for c in columns]
    truth = np.asarray([str(v) for v in truth])
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.5))
    shown = names[1:] if len(names) == 2 else names
    for name in shown:
        positive = truth == name
        if positive.all() or not positive.any():
            continue
        scores = predictions[f"prob_{name}"].to_numpy()
        false_positive, true_positive, _ = roc_curve(positive, scores)
        ax.plot(false_positive, true_positive, label=f"{name} (AUROC {roc_auc_score(positive, scores):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC", xlim=(0, 1), ylim=(0, 1.01))
    ax.legend(fontsize=8, loc="lower right")
    return ax
