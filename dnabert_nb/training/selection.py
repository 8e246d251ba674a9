"""What finetune returns: the fine-tuned network or its linear probe, chosen on valid, beside the k-mer baseline."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
from tqdm.auto import tqdm

from .._docs import shared_docs
from ..core.kmer_blend import blend_of
from ..core.model import DNABERTModel
from ..core.predict import embed
from ..core.processes import Processes
from ..dna.errors import (
    InputFormatError,
    TrainingError,
)
from .baseline import KmerBaseline, fit_baseline
from .blend import choose_blend
from .callbacks import Callback, require_callbacks
from .evaluate import EvaluationOutputs, bootstrap_wins, output_scores, window_outputs
from .heads import task_network
from .metrics import log_probabilities
from .probe import ProbeStopped, fit_probe_head, probe_layers
from .targets import (
    LabelledTask,
    labelled_task,
)

#: The linear probe is fitted on at most this many training sequences (a random sample of larger sets): it matters
#: for small data, and on large data its cost stays one inference pass over this many sequences and the regressions.
PROBE_MAX_ROWS = 5000
#: The probe's features are read this many sequences at a time, so that a stop is heard between pieces.
PROBE_CHUNK = 64
#: Where a kept linear probe is saved under ``output_dir``.
PROBE_FOLDER = "linear-probe"
#: The start of a linear probe's ``source``.
PROBE_SOURCE = "linear_probe("
#: One model beats another clearly on valid when it scores higher on at least this share of bootstrap resamples of
#: valid (a one-sided test at 5 %). The fine-tuned network must, to be kept over the linear probe: its valid score is
#: the best of many evaluations, the probe's is not. :class:`BaselineWarning` says whether the baseline's win is clear.
CLEAR_WIN_SHARE = 0.95


class BaselineWarning(UserWarning):
    """The k-mer baseline scored higher on valid than the fine-tuned model (``finetune(baseline=True)``)."""


class ScoredModel(NamedTuple):
    """A model ``finetune`` may return (the fine-tuned network, the linear probe) and its outputs on the valid rows,
    those its ``.metrics`` were computed from."""

    model: DNABERTModel
    valid_outputs: EvaluationOutputs | None


class PhaseTeller:
    """``tell(phase, done, total)``: tells every callback of progress outside the steps and returns whether one of
    them wants the work stopped (:meth:`stop_wanted`)."""

    def __init__(self, callbacks: Sequence[Callback]):
        self.callbacks = require_callbacks(callbacks)

    def stop_wanted(self) -> bool:
        """Whether a callback wants the work stopped."""
        return any(callback.wants_stop() for callback in self.callbacks)

    def __call__(self, phase: str, done: int, total: int) -> bool:
        for callback in self.callbacks:
            callback.on_phase(phase, done, total)
        return self.stop_wanted()


def baseline_unless_stopped(data: LabelledTask, seed: int, tell: PhaseTeller) -> KmerBaseline:
    """The k-mer baseline fitted on ``data`` (phase ``"k-mer baseline"``); a stop asked for meanwhile ends the run
    with :class:`~dnabert_nb.TrainingError` before anything is trained."""
    tell("k-mer baseline", 0, 1)
    fitted = fit_baseline(data.sequences, data.targets, data.names, data.evaluation, seed=seed)
    if tell("k-mer baseline", 1, 1):
        raise TrainingError("Stopped while the k-mer baseline was fitted, before any training: nothing was trained.")
    return fitted


def is_linear_probe(model: DNABERTModel) -> bool:
    """Whether ``model`` is a linear probe that ``finetune`` kept instead of the fine-tuned network."""
    return model.source.startswith(PROBE_SOURCE)


def is_network_alone(model: DNABERTModel) -> bool:
    """Whether ``model`` is the fine-tuned network itself: neither a linear probe nor blended with k-mer counts."""
    return not is_linear_probe(model) and blend_of(model.network) is None


def model_kind(model: DNABERTModel) -> str:
    """What ``finetune`` returned, in words: the fine-tuned network or the linear probe, and its blend with k-mer
    counts where it has one (:mod:`.blend`)."""
    kind = "linear probe (encoder frozen)" if is_linear_probe(model) else "fine-tuned network"
    blend = blend_of(model.network)
    if blend is None:
        return kind
    if blend.share == 0:
        return f"k-mer counts alone (k={blend.k}; the {kind} added nothing on valid)"
    return f"{kind} blended with k-mer counts (k={blend.k}; {blend.share:g} : {1 - blend.share:g})"


def keeps_probe(
    network: ScoredModel, probe: ScoredModel, data: LabelledTask, metric: str, seed: int, show: bool
) -> bool:
    """Whether to keep the linear ``probe`` over the fine-tuned ``network``: unless the network scores higher on
    :data:`CLEAR_WIN_SHARE` of bootstrap resamples of ``data``'s valid rows (printed when ``show``)."""
    wins = bootstrap_wins(
        data.task, data.evaluation[1], network.valid_outputs, probe.valid_outputs, metric, data.names, seed=seed
    )
    kept = wins < CLEAR_WIN_SHARE
    if show:
        probe_text = f"linear probe ({probe_layers(probe.model.config)}) {probe.model.metrics[metric]:.3f}"
        valid = f"fine-tuned model {network.model.metrics[metric]:.3f}, {probe_text}"
        print(
            f"valid {metric}: {valid}"
            f"; the fine-tuned model scores higher on {wins:.0%} of resamples of valid ({CLEAR_WIN_SHARE:.0%} "
            f"needed): kept the {'linear probe' if kept else 'fine-tuned model'}"
        )
    return kept


def probe_model(
    model: DNABERTModel,
    data: LabelledTask,
    *,
    seed: int,
    device: torch.device,
    precision: str | None,
    progress: bool,
    tell: PhaseTeller | None = None,
) -> tuple[DNABERTModel, EvaluationOutputs] | None:
    """``model``'s encoder, frozen, under a linear-probe head fitted on ``data``'s training sequences and scored on
    its evaluation data (``.metrics``), and its outputs there; None when a class has fewer than 2 training
    sequences. ``tell`` (:class:`PhaseTeller`) hears of the features read and the regressions fitted, between
    pieces; when it answers True the work ends with :class:`~.probe.ProbeStopped`."""
    tell = tell or PhaseTeller(())
    targets = data.targets
    if np.bincount(targets, minlength=len(data.names)).min() < 2:
        return None
    rows = np.arange(len(targets))
    if len(rows) > PROBE_MAX_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(rows, PROBE_MAX_ROWS, replace=False))
        if np.bincount(targets[rows], minlength=len(data.names)).min() < 2:
            return None
    chosen = [data.sequences[i] for i in rows]
    pieces = []
    for start in tqdm(range(0, len(chosen), PROBE_CHUNK), desc="linear probe", unit="piece", disable=not progress):
        if tell("linear probe features", start, len(chosen)):
            raise ProbeStopped
        piece = chosen[start : start + PROBE_CHUNK]
        pieces.append(embed(model, piece, pooling="mean", layer="each", precision=precision, progress=False))
    network = task_network(model, data.task, data.names, seed)
    network.config.classifier_pooling = "layers_mean"
    fit_probe_head(
        network,
        np.concatenate(pieces),
        targets[rows],
        seed,
        on_fit=lambda done, total: tell("linear probe fits", done, total),
    )
    probe = DNABERTModel(
        network.to(device).eval(),
        model.tokenizer,
        labels=data.names,
        device=device,
        precision=model.precision,
        source=f"{PROBE_SOURCE}{model.source})",
    )
    sequences, targets = data.evaluation
    outputs = window_outputs(probe, sequences, precision=precision)
    probe.metrics = output_scores(data.task, targets, outputs, data.names)
    return probe, outputs


@shared_docs
def linear_probe(
    model: DNABERTModel,
    train: object,
    valid: object,
    *,
    baseline: bool = True,
    blend: bool = True,
    seed: int = 0,
    precision: str | None = None,
    progress: bool = True,
    callbacks: Sequence[Callback] = (),
) -> DNABERTModel:
    """Fit only a linear probe: the model's encoder frozen, a logistic regression on its token means as the head.

    The quick answer, in seconds to minutes where fine-tuning takes minutes to hours: the probe that
    :func:`finetune` fits beside the network (:mod:`dnabert_nb.training.probe`), on its own. Classification only.

    Parameters
    ----------
    model
        A :class:`DNABERTModel` (e.g. ``dn.load()``); it is not changed.
    train, valid
        Labelled data as :func:`finetune` takes it; ``valid`` is scored (``.metrics``), never fitted on.
    baseline
        Also fit the k-mer baseline on the same rows (``.baseline``) and say whether it does better on valid.
    blend
        With ``baseline``: return the probe blended with the k-mer baseline where that scores higher on valid,
        as :func:`finetune` does (:mod:`dnabert_nb.training.blend`).
    {seed}
    {precision}
    {progress}
    callbacks
        :class:`~dnabert_nb.Callback` instances: told of the probe's phases (``on_phase``); one whose ``wants_stop``
        answers True ends the fit with :class:`~dnabert_nb.TrainingError`.

    Returns
    -------
    DNABERTModel
        The probe, with ``.metrics`` (valid scores), ``.baseline`` and ``.history`` None.
    """
    if valid is None:
        raise InputFormatError("linear_probe needs valid data to score the probe on; give valid=.")
    data = labelled_task(model, train, valid, "auto")
    if data.task != "classification":
        raise InputFormatError(
            f"linear_probe fits classes, and these labels make a {data.task} task; use dn.finetune for it."
        )
    processes = Processes(model.device)
    tell = PhaseTeller(callbacks)
    kmer_baseline = baseline_unless_stopped(data, seed, tell) if baseline else None
    try:
        probed = probe_model(
            model,
            data,
            seed=seed,
            device=processes.device,
            precision=precision,
            progress=progress,
            tell=tell,
        )
    except ProbeStopped as stopped:
        raise TrainingError("The linear probe was stopped before it was fitted; nothing was kept.") from stopped
    if probed is None:
        raise InputFormatError("A linear probe needs at least 2 training sequences of every class.")
    probe, outputs = probed
    probe.training_digest = data.digest
    if kmer_baseline is not None:
        probe.baseline = kmer_baseline
        if blend and not tell.stop_wanted():
            choice = choose_blend(probe, kmer_baseline, data, "mcc", precision)
            outputs = outputs if choice.outputs is None else choice.outputs
        compare_with_baseline(ScoredModel(probe, outputs), data, precision, show=progress, name=model_kind(probe))
    return probe


def compare_with_baseline(
    scored: ScoredModel,
    data: LabelledTask,
    precision: str | None = None,
    *,
    show: bool,
    name: str = "fine-tuned model",
    seed: int = 0,
) -> None:
    """Print the returned model's (``name``) and its ``.baseline``'s valid MCC (``show``); warn when the baseline is
    higher, saying on what share of bootstrap resamples of valid it is, so that a user can tell noise from a loss.
    Valid outputs missing from ``scored`` (a run resumed after its best evaluation) are computed only for the
    warning, in ``precision``."""
    model, base = scored.model, scored.model.baseline
    if model.metrics is None:  # valid never scored the selection metric
        return
    model_mcc, base_mcc = model.metrics["mcc"], base.valid_scores[base.k]
    if show:
        print(f"valid MCC: {name} {model_mcc:.3f}, k-mer baseline (k={base.k}) {base_mcc:.3f}")
    if base_mcc <= model_mcc:
        return
    sequences, targets = data.evaluation
    probabilities = base.probabilities(sequences)
    base_outputs = EvaluationOutputs(log_probabilities(probabilities), probabilities)
    outputs = scored.valid_outputs
    if outputs is None:
        outputs = window_outputs(model, sequences, precision=precision)
    share = bootstrap_wins(data.task, targets, base_outputs, outputs, "mcc", data.names, seed=seed)
    verdict = (
        "a clear lead"
        if share >= CLEAR_WIN_SHARE
        else f"under {CLEAR_WIN_SHARE:.0%}: too few valid rows to tell the two apart"
    )
    warnings.warn(
        f"On valid, the k-mer baseline (k={base.k}, MCC {base_mcc:.3f}) beats the {name} (MCC {model_mcc:.3f}), "
        f"on {share:.0%} of bootstrap resamples of the {len(targets):,} valid sequences ({verdict}): on these "
        f"{len(data.sequences):,} training sequences the transformer adds nothing measurable over k-mer counts. The "
        "model's .baseline is that classifier; dn.evaluate(model, test, baseline=True) compares the two on test data.",
        BaselineWarning,
        stacklevel=4,  # the caller of finetune's renamed_options wrapper
    )
