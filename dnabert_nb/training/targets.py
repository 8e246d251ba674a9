"""Labels as training targets: the task a label column implies, class names, encoded targets, weights, the loss."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ..core.errors import InputFormatError
from ..core.model import DNABERTModel
from ..io.labelled import as_labelled

TASK_TYPES = ("classification", "multilabel", "regression")

PROBLEM_TYPES = {
    "classification": "single_label_classification",
    "multilabel": "multi_label_classification",
    "regression": "regression",
}

DEFAULT_METRIC = {"classification": "mcc", "multilabel": "mcc", "regression": "r2"}


def infer_task(labels: pd.Series) -> str:
    """classification (ints or names), multilabel (lists of names) or regression (non-integer numbers)."""
    if labels.map(lambda v: isinstance(v, (list, tuple, set, frozenset, np.ndarray))).any():
        return "multilabel"
    if pd.api.types.is_float_dtype(labels) and not np.allclose(labels, np.round(labels)):
        return "regression"
    return "classification"


def class_names(labels: pd.Series, task: str) -> list[str]:
    """The output names a label column asks for, sorted (integers as text); regression: ``["value"]``."""
    if task == "regression":
        return ["value"]
    if task == "multilabel":
        return sorted({str(name) for row in labels for name in row})
    values = labels.unique()
    if pd.api.types.is_numeric_dtype(labels):
        values = sorted(values)
        return [str(int(v)) for v in values]
    return sorted(str(v) for v in values)


def encode_targets(labels: pd.Series, task: str, names: list[str], what: str) -> np.ndarray:
    """Labels as training targets: class indices, multi-hot rows or float values."""
    if task == "regression":
        return labels.to_numpy(dtype=np.float32).reshape(-1, 1)
    index = {name: i for i, name in enumerate(names)}
    as_name = (lambda v: str(int(v))) if pd.api.types.is_numeric_dtype(labels) else str
    if task == "multilabel":
        targets = np.zeros((len(labels), len(names)), dtype=np.float32)
        for row, value in enumerate(labels):
            for name in value:
                if str(name) not in index:
                    raise InputFormatError(
                        f"The {what} data has label {name!r} (row {row}), unknown to the model ({names})."
                    )
                targets[row, index[str(name)]] = 1
        return targets
    unknown = sorted({as_name(v) for v in labels} - set(names))
    if unknown:
        raise InputFormatError(f"The {what} data has labels {unknown} that the model does not know ({names}).")
    return np.array([index[as_name(v)] for v in labels], dtype=np.int64)


def class_weight_tensor(option: object, targets: np.ndarray, task: str, n: int) -> torch.Tensor | None:
    if option is None or task == "regression":
        return None
    if isinstance(option, str) and option == "balanced":
        if task == "classification":
            counts = np.bincount(targets, minlength=n).astype(float)
            return torch.tensor(len(targets) / (n * np.maximum(counts, 1)), dtype=torch.float32)
        positives = targets.sum(axis=0)
        return torch.tensor((len(targets) - positives) / np.maximum(positives, 1), dtype=torch.float32)
    weights = np.asarray(option, dtype=np.float32)
    if weights.shape != (n,):
        raise InputFormatError(
            f"class_weights has {weights.size} values for {n} classes; give one per class or 'balanced'."
        )
    return torch.from_numpy(weights)


def task_loss(
    task: str, logits: torch.Tensor, targets: torch.Tensor, class_weights: torch.Tensor | None
) -> torch.Tensor:
    logits = logits.float()
    if task == "classification":
        return F.cross_entropy(logits, targets, weight=class_weights)
    if task == "multilabel":
        return F.binary_cross_entropy_with_logits(logits, targets, pos_weight=class_weights)
    return F.mse_loss(logits, targets)


class LabelledTask(NamedTuple):
    """Training (and evaluation) data as a task: its type, output names, sequences and encoded targets."""

    task: str
    names: list[str]
    sequences: list
    targets: np.ndarray
    evaluation: tuple[list, np.ndarray] | None


def labelled_task(model: DNABERTModel, train: object, valid: object, task: str) -> LabelledTask:
    """Read training and evaluation data, decide the task and output names, encode the targets.

    The names are the model's own where its head already fits (so a fine-tuned model keeps its class
    order); a GUE folder without ``valid`` is evaluated on its dev split. Bad evaluation sequences fail
    here, before any training.
    """
    if task != "auto" and task not in TASK_TYPES:
        raise InputFormatError(f"task = {task!r}; use 'auto', {', '.join(map(repr, TASK_TYPES))}.")
    train_data = as_labelled(train, "training")
    if valid is None and isinstance(train, (str, os.PathLike)) and Path(train).is_dir():
        valid = train  # a GUE folder: its dev split
    valid_data = None if valid is None else as_labelled(valid, "evaluation", split="valid")
    task = infer_task(train_data.labels) if task == "auto" else task
    every_label = train_data.labels if valid_data is None else pd.concat([train_data.labels, valid_data.labels])
    names = class_names(every_label, task)
    if model.task == task and model.labels is not None and set(model.labels) == set(names):
        names = model.labels
    if task == "classification" and len(names) < 2:
        raise InputFormatError(f"The training data has one class only ({names}); classification needs two or more.")
    evaluation = None
    if valid_data is not None:
        model.tokenizer.kmer_ids(valid_data.sequences)
        evaluation = (valid_data.sequences, encode_targets(valid_data.labels, task, names, "evaluation"))
    targets = encode_targets(train_data.labels, task, names, "training")
    return LabelledTask(task, names, train_data.sequences, targets, evaluation)
