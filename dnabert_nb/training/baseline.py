"""baseline: k-mer counts and logistic regression, the bar a fine-tuned transformer has to clear.

>>> base = dn.baseline(train, valid)                    # k among 3-6 chosen by MCC on valid
>>> base.evaluate(test)                                 # the same scores as dn.evaluate(ft, test)
>>> base.predict(["ACGT..."])                           # the same columns as dn.predict
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import matthews_corrcoef
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline

from .._docs import shared_docs
from ..core.predict import result_frame
from ..dna.alphabet import normalise
from ..dna.errors import InputFormatError, ModelTaskError, require_positive_integers
from ..io.labelled import as_labelled
from ..io.sequences import SequencesLike, as_sequence_table
from .metrics import classification_metrics, log_probabilities
from .targets import (
    TASK_TYPES,
    check_choice_data,
    class_names,
    encode_targets,
    infer_task,
    sequence_digest,
    task_loss,
    warn_one_class,
)

#: The k-mer lengths tried by default: DNABERT's own.
DEFAULT_K = (3, 4, 5, 6)
#: Folds of the cross-validation that picks k when there is no ``valid`` data.
CV_FOLDS = 5
#: Inverse L2 strength of the logistic regression (scikit-learn's default), and its iteration cap.
C = 1.0
MAX_ITER = 2000


class KmerBaseline:
    """A k-mer count + logistic regression classifier, as returned by :func:`dnabert_nb.baseline`.

    Attributes
    ----------
    k : int
        The k-mer length used.
    labels : list of str
        The class names, in the order of the ``prob_<label>`` columns (as a fine-tuned model's ``labels``).
    pipeline : sklearn.pipeline.Pipeline
        ``CountVectorizer`` (overlapping k-mers of upper-case sequences) → ``LogisticRegression``, fitted on
        the training data only. ``pipeline[0].get_feature_names_out()`` and ``pipeline[-1].coef_`` show
        which k-mers it relies on. It expects clean upper-case sequences; :meth:`predict` makes them.
    valid_scores : dict of int to float
        MCC of each candidate k: on ``valid``, or the mean over 5-fold cross-validation on the training
        data when there was no ``valid``. Empty when one k was given and there was no ``valid``.
    selected_by : str
        ``"valid"``, ``"cross-validation"`` or ``"fixed"`` (one k given): how ``k`` was chosen.
    min_length : int
        The shortest sequence it reads: the smallest candidate k, as in fitting. A sequence shorter than ``k``
        has no k-mer of that length, so its probabilities are the regression's intercept alone.
    """

    task = "classification"

    def __init__(
        self,
        k: int,
        labels: list[str],
        pipeline: Pipeline,
        valid_scores: dict[int, float],
        selected_by: str,
        min_length: int,
    ):
        self.k = k
        self.min_length = min_length
        self.labels = labels
        self.pipeline = pipeline
        self.valid_scores = valid_scores
        self.selected_by = selected_by

    def __repr__(self) -> str:
        score = self.valid_scores.get(self.k)
        shown = "" if score is None else f", mcc={score:.3f} ({self.selected_by})"
        return f"KmerBaseline(k={self.k}, labels={self.labels}{shown})"

    def probabilities(self, sequences: list[str]) -> np.ndarray:
        """Class probabilities of read sequences, shape (n, len(labels)), columns in ``labels`` order."""
        return self.pipeline.predict_proba(normalise(sequences, None, min_length=self.min_length))

    def predict(self, sequences: SequencesLike) -> pd.DataFrame:
        """Predict the class of each sequence; one row per sequence, as :func:`dnabert_nb.predict`.

        Parameters
        ----------
        sequences
            A str, a list of str, a pandas Series, a DataFrame with a ``sequence`` column (and an optional
            ``id``), or a FASTA path (``.fa``, ``.fasta``, ``.fna``, optionally gzipped).

        Returns
        -------
        DataFrame
            ``id``, ``length`` (nucleotides), ``label`` (class name), ``score`` (probability of that
            class) and ``prob_<label>`` per class.

        Raises
        ------
        InvalidSequenceError
            A sequence shorter than ``min_length`` or with a character that is not a nucleotide.
        """
        table = as_sequence_table(sequences)
        clean = normalise(table.sequences, table.ids, min_length=self.min_length)
        values = self.pipeline.predict_proba(clean)
        front = {"id": table.ids, "length": np.array([len(s) for s in clean], dtype=np.int64)}
        return result_frame(self.task, self.labels, values, front)

    def evaluate(self, data: object) -> dict[str, float]:
        """Score the baseline on labelled data, with the scores :func:`dnabert_nb.evaluate` reports.

        Parameters
        ----------
        data
            As for :func:`dnabert_nb.evaluate` (a GUE folder is read at its test split).

        Returns
        -------
        dict
            ``loss`` (cross-entropy), ``accuracy``, ``macro_f1``, ``mcc`` (-1..1), ``precision``,
            ``recall`` (macro), ``auroc``, ``auprc`` (binary: of the second class; multi-class: macro
            one-vs-rest) and ``n``, the number of sequences.
        """
        labelled = as_labelled(data, "evaluation", split="test")
        targets = encode_targets(labelled.labels, self.task, self.labels, "evaluation")
        warn_one_class(targets, self.labels, stacklevel=3)
        return self.scores(labelled.sequences, targets)

    def scores(self, sequences: list[str], targets: np.ndarray) -> dict[str, float]:
        """:meth:`evaluate`'s scores of read sequences and their class indices (in ``labels`` order)."""
        probabilities = self.probabilities(sequences)
        logs = torch.from_numpy(log_probabilities(probabilities))
        loss = float(task_loss(self.task, logs, torch.from_numpy(targets), None))
        return {"loss": loss, **classification_metrics(targets, probabilities), "n": len(targets)}


def _candidate_ks(k: int | Sequence[int]) -> list[int]:
    try:
        candidates = [k] if isinstance(k, numbers.Integral) else None if isinstance(k, str) else list(k)
    except TypeError:
        candidates = None
    if not candidates:
        raise InputFormatError(f"k = {k!r}; give a k-mer length or a list of them, e.g. k=6 or k=(3, 4, 5, 6).")
    for value in candidates:
        require_positive_integers(k=value)
    return sorted({int(value) for value in candidates})


def kmer_counter(k: int) -> CountVectorizer:
    """An unfitted vectorizer of overlapping k-mer counts (the baseline's features; sequences already upper-case)."""
    return CountVectorizer(analyzer="char", ngram_range=(k, k), lowercase=False)


def _fit(sequences: list[str], targets: np.ndarray, k: int, seed: int) -> Pipeline:
    pipeline = Pipeline(
        [
            ("counts", kmer_counter(k)),
            ("model", LogisticRegression(C=C, max_iter=MAX_ITER, random_state=seed)),
        ]
    )
    return pipeline.fit(sequences, targets)


def _mcc(targets: np.ndarray, predicted: np.ndarray) -> float:
    return float(matthews_corrcoef(targets, predicted))


def _cv_mcc(sequences: list[str], targets: np.ndarray, k: int, seed: int) -> float:
    """Mean MCC over stratified folds of the training data (vectorised once; the folds refit the regression)."""
    folds = min(CV_FOLDS, int(np.bincount(targets).min()))
    counts = kmer_counter(k).fit_transform(sequences)
    scores = []
    for fit_rows, test_rows in StratifiedKFold(folds, shuffle=True, random_state=seed).split(counts, targets):
        model = LogisticRegression(C=C, max_iter=MAX_ITER, random_state=seed).fit(counts[fit_rows], targets[fit_rows])
        scores.append(_mcc(targets[test_rows], model.predict(counts[test_rows])))
    return float(np.mean(scores))


@shared_docs
def baseline(
    train: object,
    valid: object = None,
    *,
    k: int | Sequence[int] = DEFAULT_K,
    task: str = "auto",
    seed: int = 0,
) -> KmerBaseline:
    """Fit a k-mer count + logistic regression classifier: what a fine-tuned model has to beat.

    Each sequence becomes the counts of its overlapping k-mers, read as given (one strand, upper case,
    ``U`` as ``T``; a k-mer covering ``N`` or another ambiguity letter is a feature of its own), and an
    L2-regularised logistic regression (``C=1``, multinomial for more than two classes) is fitted to them
    on ``train``. ``valid`` only chooses ``k``; it is never fitted on.

    Parameters
    ----------
    train, valid
        Labelled data in any form :func:`dnabert_nb.finetune` takes: a DataFrame with ``sequence`` and
        ``label``, a (sequences, labels) pair, a dict of label -> sequences or FASTA path, a FASTA file
        with ``label=`` headers, a DNABERT ``.tsv``, a ``sequence,label`` ``.csv``, or a GUE task folder
        (its train split; with ``valid=None`` its dev split). Labels: integers or names (classification;
        two classes or more).
    k
        The k-mer length, or candidates for it (default 3, 4, 5, 6). Among several, the one with the best
        MCC on ``valid`` is kept; without ``valid``, the best mean MCC over 5-fold stratified
        cross-validation on ``train`` (fewer folds where a class has fewer than 5 sequences). Ties go to
        the smaller k.
    task
        ``"auto"`` or ``"classification"``. The baseline covers classification only: multi-label and
        regression labels raise :class:`~dnabert_nb.ModelTaskError`.
    {seed}
        Here: the cross-validation folds.

    Returns
    -------
    KmerBaseline
        ``.k``, ``.labels``, ``.pipeline``, ``.valid_scores`` (k -> MCC), ``.predict(sequences)`` (the
        columns of :func:`dnabert_nb.predict`) and ``.evaluate(data)`` (the scores of
        :func:`dnabert_nb.evaluate`).

    Raises
    ------
    ModelTaskError
        Multi-label or regression labels.
    InputFormatError
        Empty data, one class only (in ``train`` or ``valid``), an unknown ``task`` or ``k``, or ``valid`` labels
        not in ``train``.

    Warns
    -----
    DataWarning
        ``valid`` holds sequences of ``train``: the choice of k then rewards memory.
    InvalidSequenceError
        A sequence with a character that is not a nucleotide.

    Examples
    --------
    >>> base = dn.baseline(df[df.split == "train"], df[df.split == "valid"])
    >>> base.evaluate(df[df.split == "test"])["mcc"]
    """
    if task != "auto" and task not in TASK_TYPES:
        raise InputFormatError(f"task = {task!r}; use 'auto' or 'classification'.")
    ks = _candidate_ks(k)
    if not isinstance(seed, numbers.Integral) or seed < 0:
        raise InputFormatError(f"seed = {seed!r}; give a whole number of 0 or more.")
    train_data = as_labelled(train, "training")
    if valid is None and isinstance(train, (str, os.PathLike)) and Path(train).is_dir():
        valid = train  # a GUE folder: its dev split
    task = infer_task(train_data.labels) if task == "auto" else task
    if task != "classification":
        raise ModelTaskError(
            f"The k-mer baseline covers classification only, and these labels make a {task} task; "
            "fine-tune and evaluate the transformer alone (dn.finetune, dn.evaluate) for this data."
        )
    labels = class_names(train_data.labels, task)
    if len(labels) < 2:
        raise InputFormatError(f"The training data has one class only ({labels}); classification needs two or more.")
    targets = encode_targets(train_data.labels, task, labels, "training")
    evaluation = None
    if valid is not None:
        valid_data = as_labelled(valid, "evaluation", split="valid")
        evaluation = (valid_data.sequences, encode_targets(valid_data.labels, task, labels, "evaluation"))
        check_choice_data(sequence_digest(train_data.sequences), evaluation, valid_data.ids, task, labels, stacklevel=3)
    return fit_baseline(train_data.sequences, targets, labels, evaluation, ks=ks, seed=int(seed))


def fit_baseline(
    sequences: list[str],
    targets: np.ndarray,
    labels: list[str],
    evaluation: tuple[list[str], np.ndarray] | None,
    *,
    ks: Sequence[int] = DEFAULT_K,
    seed: int = 0,
) -> KmerBaseline:
    """:func:`baseline` on data already read: sequences, class indices into ``labels``, and the same for valid.

    Parameters
    ----------
    sequences, targets
        The training sequences and their class indices.
    labels
        The class names, in index order.
    evaluation
        ``(sequences, class indices)`` that choose k, or None (cross-validation on the training data).
    ks
        Candidate k-mer lengths, ascending.
    seed
        The cross-validation folds, and the regression's random state.

    Returns
    -------
    KmerBaseline
        As :func:`baseline` returns it.
    """
    min_length = min(ks)
    sequences = normalise(sequences, min_length=min_length)
    if evaluation is not None:
        valid_sequences = normalise(evaluation[0], min_length=min_length)
        valid_targets = evaluation[1]
        fitted = {candidate: _fit(sequences, targets, candidate, seed) for candidate in ks}
        scores = {candidate: _mcc(valid_targets, fitted[candidate].predict(valid_sequences)) for candidate in fitted}
        selected_by = "valid" if len(ks) > 1 else "fixed"
    elif len(ks) > 1:
        if np.bincount(targets).min() < 2:
            raise InputFormatError(
                "A class of the training data has one sequence only, too few to choose k by cross-validation; "
                "give valid data, or one k (e.g. k=6)."
            )
        scores = {candidate: _cv_mcc(sequences, targets, candidate, seed) for candidate in ks}
        fitted, selected_by = {}, "cross-validation"
    else:
        fitted, scores, selected_by = {}, {}, "fixed"
    best = max(ks, key=lambda candidate: (scores.get(candidate, 0.0), -candidate)) if scores else ks[0]
    pipeline = fitted[best] if best in fitted else _fit(sequences, targets, best, seed)
    return KmerBaseline(best, labels, pipeline, scores, selected_by, min_length)
