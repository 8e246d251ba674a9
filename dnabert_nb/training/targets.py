"""Labels as training targets: the task a label column implies, class names, encoded targets, weights, the loss."""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ..core.model import DNABERTModel
from ..dna.errors import DataWarning, InputFormatError
from ..io.labelled import as_labelled, describe_rows

TASK_TYPES = ("classification", "multilabel", "regression")

PROBLEM_TYPES = {
    "classification": "single_label_classification",
    "multilabel": "multi_label_classification",
    "regression": "regression",
}

DEFAULT_METRIC = {"classification": "mcc", "multilabel": "mcc", "regression": "r2"}


MULTILABEL_TYPES = (list, tuple, set, frozenset, np.ndarray)
_INTEGER_TEXT = re.compile(r"[+-]?\d+")


def infer_task(labels: pd.Series) -> str:
    """classification (ints or names), multilabel (lists of names) or regression (non-integer numbers)."""
    if labels.map(lambda v: isinstance(v, MULTILABEL_TYPES)).any():
        return "multilabel"
    if pd.api.types.is_float_dtype(labels):
        finite = labels.to_numpy(dtype=np.float64)
        finite = finite[np.isfinite(finite)]
        if not np.allclose(finite, np.round(finite)):
            return "regression"  # a NaN or infinity among the values is refused later, with its rows
    return "classification"


def class_labels(labels: pd.Series, what: str) -> pd.Series:
    """Class labels as one kind of text, so that 1, 1.0, "1" and " 1" are one class.

    Integers (``int``, integral floats, integer text) become their decimal text, names are stripped of
    surrounding blanks. Labels that are neither, and a mix of integer classes and named classes, are
    refused with the rows named.
    """

    def as_text(value: object) -> str | None:
        if isinstance(value, (bool, np.bool_)):
            return str(bool(value))
        if isinstance(value, (int, np.integer)):
            return str(int(value))
        if isinstance(value, (float, np.floating)) and np.isfinite(value) and float(value).is_integer():
            return str(int(value))
        if isinstance(value, str) and value.strip():
            text = value.strip()
            return str(int(text)) if _INTEGER_TEXT.fullmatch(text) else text
        return None

    texts = labels.map(as_text)
    bad = texts.isna().to_numpy()
    if bad.any():
        first = labels.iloc[int(np.flatnonzero(bad)[0])]
        rows = describe_rows(labels.index, bad)
        raise InputFormatError(
            f"The {what} data has labels that are not classes at rows {rows} (e.g. {first!r}); class labels "
            "are integers or names. For numbers to predict, give non-integer values (regression: task='regression')."
        )
    numeric = texts.map(lambda text: bool(_INTEGER_TEXT.fullmatch(text))).to_numpy()
    if numeric.any() and not numeric.all():
        raise InputFormatError(
            f"The {what} data mixes integer classes (rows {describe_rows(labels.index, numeric)}) with named classes "
            f"(rows {describe_rows(labels.index, ~numeric)}); use one kind of label for every row."
        )
    return texts


def _sorted_names(names: set[str]) -> list[str]:
    """Integer classes in numeric order, named classes in alphabetical order."""
    if all(_INTEGER_TEXT.fullmatch(name) for name in names):
        return sorted(names, key=int)
    return sorted(names)


def regression_values(labels: pd.Series, what: str) -> np.ndarray:
    """Regression targets as finite float32 numbers; anything else is refused with the rows named."""
    values = pd.to_numeric(labels, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        raise InputFormatError(
            f"The {what} data has values that are not finite numbers at rows {describe_rows(labels.index, bad)} "
            f"(e.g. {labels.iloc[int(np.flatnonzero(bad)[0])]!r}); regression needs a finite number for every row."
        )
    return values.astype(np.float32)


def multilabel_names(labels: pd.Series, what: str) -> list[set[str]]:
    """Each row's set of label names (as text); a row that is not a list of names is refused."""
    bad = labels.map(lambda v: not isinstance(v, MULTILABEL_TYPES)).to_numpy()
    if bad.any():
        raise InputFormatError(
            f"The {what} data mixes lists of labels with single labels at rows {describe_rows(labels.index, bad)}; "
            "multi-label data gives every row a list (an empty list for none)."
        )
    return [{str(name).strip() for name in row} for row in labels]


def class_names(labels: pd.Series, task: str, what: str = "training") -> list[str]:
    """The output names a label column asks for, sorted (integers in numeric order); regression: ``["value"]``."""
    if task == "regression":
        return ["value"]
    if task == "multilabel":
        return _sorted_names(set().union(*multilabel_names(labels, what)))
    return _sorted_names(set(class_labels(labels, what)))


def encode_targets(labels: pd.Series, task: str, names: list[str], what: str) -> np.ndarray:
    """Labels as training targets: class indices, multi-hot rows or float values.

    A label the model does not know is refused with its rows: a head cannot learn a class it never saw.
    """
    if task == "regression":
        return regression_values(labels, what).reshape(-1, 1)
    index = {name: i for i, name in enumerate(names)}
    rows = multilabel_names(labels, what) if task == "multilabel" else [{text} for text in class_labels(labels, what)]
    unknown = sorted(set().union(*rows) - set(names))
    if unknown:
        where = np.array([bool(row & set(unknown)) for row in rows])
        rows = describe_rows(labels.index, where)
        raise InputFormatError(
            f"The {what} data has labels {unknown} (rows {rows}) that are not among the model's classes "
            f"{names}; a model cannot be trained or scored on classes it never saw in training. Drop those rows, "
            "or add examples of those classes to the training data."
        )
    if task == "multilabel":
        targets = np.zeros((len(rows), len(names)), dtype=np.float32)
        for row, members in enumerate(rows):
            targets[row, [index[name] for name in members]] = 1
        return targets
    return np.array([index[next(iter(row))] for row in rows], dtype=np.int64)


def class_weight_tensor(option: object, targets: np.ndarray, task: str, n: int) -> torch.Tensor | None:
    """The loss weight of each class (classification) or label (multi-label, as positive weights); None for none."""
    if option is None or task == "regression":
        return None
    if isinstance(option, str) and option == "balanced":
        if task == "classification":
            counts = np.bincount(targets, minlength=n).astype(float)
            return torch.tensor(len(targets) / (n * np.maximum(counts, 1)), dtype=torch.float32)
        positives = targets.sum(axis=0)
        return torch.tensor((len(targets) - positives) / np.maximum(positives, 1), dtype=torch.float32)
    try:
        weights = np.asarray(option, dtype=np.float32)
    except (TypeError, ValueError):
        weights = np.full(0, np.nan, dtype=np.float32)
    if weights.shape != (n,) or not np.isfinite(weights).all() or (weights < 0).any() or not (weights > 0).any():
        raise InputFormatError(
            f"class_weights = {option!r}; give 'balanced' or {n} finite, non-negative weights (one per class), "
            "not all zero."
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
    ids: list | None = None
    """The training sequences' names for messages (see :class:`~dnabert_nb.io.labelled.LabelledSequences`)."""
    digest: np.ndarray | None = None
    """The training sequences' :func:`sequence_digest`."""


def check_choice_data(
    digest: np.ndarray,
    evaluation: tuple[list, np.ndarray],
    ids: Sequence,
    task: str,
    names: list[str],
    *,
    stacklevel: int,
) -> None:
    """Refuse evaluation data of one class where it chooses a model (classification), and warn
    (:class:`~dnabert_nb.DataWarning`, at ``stacklevel``) when it holds training sequences (``digest``, their
    :func:`sequence_digest`); ``ids`` name the evaluation rows."""
    single = single_class(evaluation[1], names)
    if task == "classification" and single:
        raise InputFormatError(
            f"The evaluation data has one class only ({single}): MCC, AUROC and the choice of the best model need "
            "two or more. Draw valid at random from the labelled rows (a file sorted by label, cut at the end, gives "
            "one class), or pass valid=None."
        )
    warn_shared_sequences(digest, evaluation[0], ids, stacklevel=stacklevel + 1)


def sequence_digest(sequences: list) -> np.ndarray:
    """The sorted, distinct hashes of sequences as compared for sharing (:func:`sequence_key`), for this session:
    8 bytes a sequence, whatever their length."""
    return np.unique(sequence_digest_rows(sequences))


def warn_shared_sequences(digest: np.ndarray, evaluation: list, ids: Sequence, *, stacklevel: int) -> None:
    """Warn (:class:`~dnabert_nb.DataWarning`) when evaluation sequences also are training sequences (their
    :func:`sequence_digest`: compared upper case, without whitespace, ``U`` as ``T``); ``ids`` name the evaluation
    rows."""
    shared = np.isin(sequence_digest_rows(evaluation), digest)
    count = int(shared.sum())
    if count:
        warnings.warn(
            f"{count:,} of the {len(evaluation):,} evaluation sequences ({count / len(evaluation):.1%}; rows "
            f"{describe_rows(ids, shared)}) are also training sequences: scores on them reward memory, so they flatter "
            "the model and bias the choices made on them. Drop them, e.g. valid = valid[~valid['sequence'].isin(train["
            "'sequence'])], or split the data so that no sequence is in two parts.",
            DataWarning,
            stacklevel=stacklevel,
        )


def warn_one_class(targets: np.ndarray, names: list[str], *, stacklevel: int) -> None:
    """Warn (:class:`~dnabert_nb.DataWarning`) when classification data to score holds one class only."""
    single = single_class(targets, names)
    if single:
        warnings.warn(
            f"The evaluation data has one class only ({single}): MCC is 0 and AUROC undefined (NaN) whatever the "
            "model, and accuracy is the share predicted as that class. Evaluate on data with every class for scores "
            "that compare models.",
            DataWarning,
            stacklevel=stacklevel,
        )


def single_class(targets: np.ndarray, names: list[str]) -> str:
    """``"'name' in all N rows"`` where class indices ``targets`` hold one class only; else ``""``."""
    present = np.unique(targets)
    return f"{names[present[0]]!r} in all {len(targets):,} rows" if len(present) == 1 else ""


def sequence_digest_rows(sequences: list) -> np.ndarray:
    """Each sequence's hash as :func:`sequence_digest` takes it, in order."""
    return np.fromiter((hash(sequence_key(sequence)) for sequence in sequences), np.int64, len(sequences))


def sequence_key(sequence: object) -> str:
    """A sequence as compared for sharing: upper case, without whitespace, ``U`` as ``T``."""
    return "".join(str(sequence).split()).upper().replace("U", "T")


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
    names = class_names(train_data.labels, task)
    if model.task == task and model.labels is not None and set(model.labels) == set(names):
        names = model.labels
    if task == "classification" and len(names) < 2:
        raise InputFormatError(f"The training data has one class only ({names}); classification needs two or more.")
    evaluation, digest = None, sequence_digest(train_data.sequences)
    if valid_data is not None:
        model.tokenizer.kmer_ids(valid_data.sequences, valid_data.ids)
        evaluation = (valid_data.sequences, encode_targets(valid_data.labels, task, names, "evaluation"))
        check_choice_data(digest, evaluation, valid_data.ids, task, names, stacklevel=5)
    targets = encode_targets(train_data.labels, task, names, "training")
    return LabelledTask(task, names, train_data.sequences, targets, evaluation, train_data.ids, digest)
