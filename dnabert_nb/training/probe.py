"""The linear probe: a logistic regression on the frozen encoder's features, written into a classification head.

On a few hundred sequences, fine-tuning every weight can lose what pre-training put in the encoder: on
``ecoli_promoters`` (86 training rows a fold) the embedding layer's token mean separates the classes as well as
5-mer counts, every transformer layer loses a third of that, and fine-tuned heads stay far below the k-mer
baseline (the git history of BENCHMARKS.md). The probe keeps the encoder frozen and fits
only a head, a cross-validated logistic regression (seconds): on the mean of every hidden state or on one hidden
state alone, whichever fits the training rows best by cross-validated log-loss (on ``ecoli_promoters`` the embedding
layer). ``finetune`` fits it beside the fine-tuned network and keeps the probe unless the network scores higher on
most bootstrap resamples of valid (``finetune.CLEAR_WIN_SHARE``).

The head it writes is an ordinary ``"layers_mean"`` head, so predict, evaluate, token contributions and saving
work on it unchanged: the pooler standardises each feature ``x`` to ``z = (x - mean) / sd`` over the training
rows and passes on ``tanh(PROBE_SCALE * z)``; the classifier is the logistic regression fitted on exactly those
values, so the network computes what was fitted.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score

#: The pooler's gain on standardised features: tanh(0.5 z) is within 8 % of linear for |z| < 1 and tames outliers.
PROBE_SCALE = 0.5
#: Inverse L2 strengths tried, chosen by cross-validated log-loss on the training rows (never on valid).
PROBE_CS = np.logspace(-3, 2, 6)
#: Folds of that cross-validation (fewer when a class has fewer rows): scikit-learn's usual 5. Against 3, the probe's
#: test MCC on 800 ``ctcf_peaks`` rows rose from 0.441 to 0.508 and was unchanged on the other shipped tasks
#: (the git history of BENCHMARKS.md).
PROBE_FOLDS = 5
#: The logistic regression's iteration cap.
PROBE_MAX_ITER = 3000


class ProbeStopped(Exception):
    """A stop was asked for while the probe was being fitted; ``finetune`` keeps the fine-tuned network."""


def probe_inputs(features: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the probe head's pooler passes on for ``features`` (rows of pooled vectors), with its mean and sd."""
    mean = features.mean(axis=0)
    sd = np.maximum(features.std(axis=0), 1e-6)
    return np.tanh(PROBE_SCALE * (features - mean) / sd), mean, sd


def probe_candidates(features: np.ndarray) -> list[tuple[list[int] | None, np.ndarray]]:
    """The pooled vectors a probe may read, from ``(n, n_layers + 1, hidden)`` features of every hidden state: their
    mean (``None``: every layer), then each hidden state alone (``[i]``), as ``(classifier_layers, vectors)``."""
    return [(None, features.mean(axis=1, dtype=np.float64)), *(([i], features[:, i]) for i in range(features.shape[1]))]


def probe_solver(n_rows: int, n_features: int, n_classes: int) -> str:
    """The logistic regression's solver for ``n_rows`` rows: Newton-Cholesky where the rows outnumber the
    coefficients (``n_features`` per class, one set for two classes), L-BFGS where they do not.

    Newton steps converge in a few iterations where L-BFGS needs hundreds at weak regularisation, but each builds and
    factors a Hessian of coefficients²: the probe's fits took 78 s instead of 315 s on the 2,549 rows of 3-class
    ``splice`` and 7 s instead of 199 s on 5,000 rows of ``fly_core_promoters``, yet 43 s instead of 7 s on 300 rows
    of ``splice``, with the same choices (BENCHMARKS.md, ``bench_probe_fit.py``).
    """
    coefficients = n_features * (n_classes if n_classes > 2 else 1)
    return "newton-cholesky" if n_rows >= coefficients else "lbfgs"


def fit_probe_head(
    network: torch.nn.Module,
    features: np.ndarray,
    targets: np.ndarray,
    seed: int,
    solver: str | None = None,
    on_fit: Callable[[int, int], bool] | None = None,
) -> LogisticRegression:
    """Fit a logistic regression on the best-fitting hidden states of ``features``; write it into ``network``'s head.

    The regression's inputs (the mean of every hidden state, or one hidden state alone) and its C are chosen
    together by cross-validated log-loss on these training rows; the choice goes into the network's config as
    ``classifier_layers`` (None: every hidden state).

    Parameters
    ----------
    network
        A ``BertForSequenceClassification`` with ``classifier_pooling="layers_mean"``; its pooler, classifier and
        ``config.classifier_layers`` are overwritten in place.
    features
        (n, n_layers + 1, hidden) token means of every hidden state of the training sequences from the frozen
        encoder (``embed(..., pooling="mean", layer="each")``).
    targets
        (n,) class indices, 0 to ``num_labels - 1``; every class needs 2 rows at the least.
    seed
        Seeds the cross-validation folds' shuffle.
    solver
        scikit-learn's solver for every fit; None: :func:`probe_solver`'s choice for these rows.
    on_fit
        Told ``(done, total)`` before each cross-validated choice and the final fit; returning True stops the fit
        with :class:`ProbeStopped`, the network untouched.

    Returns
    -------
    LogisticRegression
        The fitted regression, on :func:`probe_inputs` of the chosen vectors: the head's probabilities are its
        ``predict_proba``.
    """
    n_classes = network.config.num_labels
    solver = solver or probe_solver(len(targets), features.shape[-1], n_classes)
    folds = StratifiedKFold(
        int(min(PROBE_FOLDS, np.bincount(targets, minlength=n_classes).min())), shuffle=True, random_state=seed
    )
    candidates = probe_candidates(features)
    best = (-np.inf, 0, PROBE_CS[len(PROBE_CS) // 2])  # (cross-validated log-likelihood, candidate, C)
    total = len(candidates) * len(PROBE_CS) + 1
    for index, (_, vectors) in enumerate(candidates):
        inputs = probe_inputs(vectors.astype(np.float64))[0]
        for number, c in enumerate(PROBE_CS):
            if on_fit is not None and on_fit(index * len(PROBE_CS) + number, total):
                raise ProbeStopped
            regression = LogisticRegression(C=c, solver=solver, max_iter=PROBE_MAX_ITER)
            score = cross_val_score(regression, inputs, targets, cv=folds, scoring="neg_log_loss").mean()
            if score > best[0]:  # ties keep the first (the mean of every hidden state); NaN never wins
                best = (score, index, c)
    if on_fit is not None and on_fit(total - 1, total):
        raise ProbeStopped
    _, index, c = best
    layers, vectors = candidates[index]
    inputs, mean, sd = probe_inputs(vectors.astype(np.float64))
    regression = LogisticRegression(C=c, solver=solver, max_iter=PROBE_MAX_ITER)
    regression.fit(inputs, targets)
    weight, bias = regression.coef_, regression.intercept_
    if n_classes == 2:  # one logit for the second class; softmax over (-z/2, z/2) gives the same probabilities
        weight, bias = np.vstack([-weight / 2, weight / 2]), np.concatenate([-bias / 2, bias / 2])
    dense, classifier = network.bert.pooler.dense, network.classifier
    with torch.no_grad():
        dense.weight.copy_(torch.diag(torch.as_tensor(PROBE_SCALE / sd)))
        dense.bias.copy_(torch.as_tensor(-PROBE_SCALE * mean / sd))
        classifier.weight.copy_(torch.as_tensor(weight))
        classifier.bias.copy_(torch.as_tensor(bias))
    network.config.classifier_layers = layers
    return regression


def probe_layers(config: object) -> str:
    """The hidden states a probe head reads, in words: ``"every hidden state"`` or ``"hidden state 0"``."""
    layers = getattr(config, "classifier_layers", None)
    return "every hidden state" if layers is None else "hidden state " + ", ".join(map(str, layers))
