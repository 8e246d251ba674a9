"""finetune: supervised training of a DNABERT model on labelled sequences, through the one training loop.

The verb reads as its steps: check the options (:class:`FinetuneConfig`), build the run (data, windows, the k-mer
baseline), train it (restarting a run that stays a constant predictor, :mod:`.restarts`), and choose what to return
(the network or its linear probe, :mod:`.selection`). The job the loop runs is in :mod:`.finetune_job`, the network
in :mod:`.heads`, the epochs="auto" schedule in :mod:`.schedule`.
"""

from __future__ import annotations

import numbers
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .._deprecation import renamed_options
from .._docs import shared_docs
from ..core.inference import window_runs
from ..core.model import HEAD_POOLINGS, DNABERTModel
from ..core.processes import Processes
from ..core.runtime import resolve_precision, training_precision
from ..dna.errors import (
    InputFormatError,
    require_non_negative_integers,
    require_positive_integers,
    require_positive_integers_or_none,
    require_positive_numbers,
)
from . import loop
from .blend import BLEND_FOLDER, choose_blend
from .callbacks import Callback
from .evaluate import EvaluationOutputs, window_outputs
from .finetune_job import FinetuneJob, TrainingWindows
from .heads import parameter_groups, task_network, with_lora
from .metrics import LOWER_IS_BETTER, check_metric
from .probe import ProbeStopped
from .restarts import CollapseWarning, StallGuard, collapse_score, collapsed, rare_class_hint, restart_seed
from .schedule import auto_epochs, auto_eval_every, auto_patience
from .selection import (
    PROBE_FOLDER,
    PhaseTeller,
    ScoredModel,
    baseline_unless_stopped,
    compare_with_baseline,
    keeps_probe,
    model_kind,
    probe_model,
)
from .targets import DEFAULT_METRIC, LabelledTask, class_weight_tensor, labelled_task


@dataclass(frozen=True)
class FinetuneConfig:
    """:func:`finetune`'s options, checked when made (an :class:`~dnabert_nb.InputFormatError` names a bad one);
    :func:`finetune` documents each. The command line and the Train panel make one from what they were given, so that
    a bad option is named before any data is read."""

    task: str = "auto"
    epochs: int | str = "auto"
    lr: float = 2e-4
    batch_size: int = 32
    warmup: float = 0.1
    weight_decay: float = 0.01
    eval_every: int | None = None
    early_stopping_patience: int | None = None
    metric: str | None = None
    class_weights: object = None
    lora: bool | dict | None = None
    pooling: str | None = None
    restarts: int = 1
    crop: float | None = None
    reverse_complement: bool = False
    linear_probe: bool = True
    baseline: bool = True
    blend: bool = True
    seed: int = 0
    precision: str | None = None
    output_dir: str | os.PathLike | None = None
    save_every: int | None = None
    resume: bool = False
    log_every: int = 20
    progress: bool = True
    live_plot: bool | str = "auto"
    callbacks: Sequence[Callback] = ()

    def __post_init__(self) -> None:
        require_positive_integers(batch_size=self.batch_size, log_every=self.log_every)
        require_positive_integers_or_none(eval_every=self.eval_every)
        epochs = self.epochs
        if epochs != "auto" and not (isinstance(epochs, int) and not isinstance(epochs, bool) and epochs >= 1):
            raise InputFormatError(f"epochs = {epochs!r}; give a positive whole number, or 'auto'.")
        require_non_negative_integers(restarts=self.restarts)
        crop = self.crop
        if crop is not None and (isinstance(crop, bool) or not isinstance(crop, numbers.Real) or not 0 < crop <= 1):
            raise InputFormatError(
                f"crop = {crop!r}; give the share of each window to keep (above 0, at most 1), or None."
            )
        if self.pooling not in (None, *HEAD_POOLINGS):
            raise InputFormatError(
                f"pooling = {self.pooling!r}; use 'cls' (the [CLS] vector), 'mean' (the token mean) or "
                "'layers_mean' (the token mean of every hidden state)."
            )
        require_positive_numbers(lr=self.lr)

    def options(self) -> dict[str, object]:
        """The options as keyword arguments: ``finetune(model, train, valid, **config.options())``."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@renamed_options(eval="valid", warmup_ratio="warmup")
@shared_docs
def finetune(
    model: DNABERTModel,
    train: object,
    valid: object = None,
    *,
    task: str = "auto",
    epochs: int | str = "auto",
    lr: float = 2e-4,
    batch_size: int = 32,
    warmup: float = 0.1,
    weight_decay: float = 0.01,
    eval_every: int | None = None,
    early_stopping_patience: int | None = None,
    metric: str | None = None,
    class_weights: object = None,
    lora: bool | dict | None = None,
    pooling: str | None = None,
    restarts: int = 1,
    crop: float | None = None,
    reverse_complement: bool = False,
    linear_probe: bool = True,
    baseline: bool = True,
    blend: bool = True,
    seed: int = 0,
    precision: str | None = None,
    output_dir: str | os.PathLike | None = None,
    save_every: int | None = None,
    resume: bool = False,
    log_every: int = 20,
    progress: bool = True,
    live_plot: bool | str = "auto",
    callbacks: Sequence[Callback] = (),
) -> DNABERTModel:
    """Fine-tune a DNABERT model on labelled sequences; return the best model on ``valid``.

    Parameters
    ----------
    model
        A :class:`DNABERTModel` (e.g. ``dn.load()``); it is not changed. Without a fitting
        head, its encoder gets a new one (seeded by ``seed``).
    train, valid
        A DataFrame with ``sequence`` and ``label``, a (sequences, labels) pair, a dict of label ->
        sequences or FASTA path, a FASTA file with ``label=`` headers, a DNABERT ``.tsv``, a
        ``sequence,label`` ``.csv``, or a GUE task folder (its train split; with ``valid=None`` its dev
        split is the evaluation data). Labels: integers or names (classification), lists of names
        (multi-label), non-integer numbers (regression). A sequence longer than one model input is cut
        into windows sharing 100 nt, each trained on with the sequence's label; evaluation averages the
        windows' probabilities, as :func:`dnabert_nb.predict` does. A classification ``valid`` of one class is
        refused (nothing can be chosen on it); ``valid`` sequences that also are ``train`` sequences raise a
        :class:`~dnabert_nb.DataWarning`.
    task
        ``"auto"`` (decided from the labels), ``"classification"``, ``"multilabel"`` or ``"regression"``.
    epochs
        Passes over ``train``; ``"auto"`` (the default): 8 where they take 500 to 1,000 optimiser steps, more
        where 8 take fewer steps, fewer where they take more; within 3 to 30 epochs, stopping after 4 evaluations
        without improvement that span at least 250 steps (unless ``early_stopping_patience`` says otherwise).
        2,000 windows (at batch size 32) train 8 epochs, 504 steps; from about 10,700 windows up it is 3 epochs.
    lr, batch_size, warmup, weight_decay
        AdamW; linear warm-up over ``warmup`` (a fraction of the steps, or a number of steps when ≥ 1),
        then linear decay to zero. ``batch_size`` is per process.
    eval_every
        Steps between evaluations on ``valid``; None evaluates at the end of every epoch, or with
        ``epochs="auto"`` and an epoch longer than 125 steps, every epoch / k steps (rounded up) for the smallest k
        that keeps it at most 125 (375 steps an epoch: every 125).
    early_stopping_patience
        Stop after this many evaluations without improvement of ``metric``; None trains all epochs of a fixed
        ``epochs`` (with ``"auto"``, see ``epochs``).
    metric
        The :func:`dnabert_nb.evaluate` score that picks the best model; None means ``mcc`` for
        classification and multi-label, ``r2`` for regression.
    class_weights
        None, ``"balanced"``, or one weight per class (classification) / label (multi-label).
    lora
        True or a dict of ``peft.LoraConfig`` options: train low-rank adapters (on query, key,
        value) plus the head instead of every weight; merged into the returned model.
    pooling
        What the task head reads: ``"cls"`` (the [CLS] vector, as DNABERT), ``"mean"`` (the mean of the k-mer
        tokens' vectors) or ``"layers_mean"`` (that mean over every hidden state, as a linear probe may); None keeps
        the model's own head's choice, and a new head reads the mean (it fine-tunes level with or better than [CLS]
        on every measured task, BENCHMARKS.md). ``"layers_mean"`` fine-tuned a little higher on fly core promoters,
        whose signal sits in the lower layers, and 0.10 MCC lower on CTCF peaks: try it on valid, it is not the
        default. Recorded in the checkpoint's ``config.json`` as ``classifier_pooling``; a mean-pooled checkpoint
        loaded outside dnabert_nb (plain transformers) would read [CLS] instead: give ``pooling="cls"`` for a model
        meant for plain transformers.
    restarts
        When a run ends as a constant predictor on ``valid`` (best MCC, or R² for regression, at or below 0), or
        (classification) scored like one at every evaluation, two at least, once a quarter of its steps is done
        (:data:`STALL_SHARE`; it stops there), train again with another seed (``seed + 1000 * n`` for restart
        ``n``), up to this many times, and keep the best run; a :class:`CollapseWarning` says so. Costs a quarter
        of a run to a full run per restart, only when a run collapsed (0 turns the guard off). Restarts write to
        ``output_dir/restart-<n>`` (``resume`` continues them too); the last one allowed always runs to the end.
    crop
        Data augmentation: train each step on a random stretch of every window, keeping at least this share
        (above 0, at most 1) of its k-mers; None trains on whole windows. For few sequences that each fit one
        window: on 800 CTCF peaks of 200 nt, a 256-token model overfitted whole peaks (test MCC 0.62) and matched
        the k-mer baseline, while ``crop=0.65`` gave 0.82 (BENCHMARKS.md). Evaluation always reads whole windows.
    reverse_complement
        Data augmentation for sequences without a strand (peaks): each step reads every training window or, with
        probability one half, its reverse complement. Off for stranded sequences (promoters, splice sites), where
        the reverse complement is another sequence. Pair it with ``predict(..., both_strands=True)``.
    linear_probe
        Classification with ``valid``: also fit a linear probe (the starting encoder frozen, a logistic regression
        on the token mean of every hidden state together or of the one hidden state that fits the training rows
        best by cross-validated log-loss, :mod:`dnabert_nb.training.probe`; one inference pass over at most 5,000
        training sequences and the valid ones, and 181 small regressions: on 2,000 rows of 3-class ``splice`` 87 s
        at one thread on 2 shared cores, a small part of the minutes of fine-tuning) and return it unless the fine-tuned
        network scores ``metric`` higher on 95 % of bootstrap resamples of ``valid`` (a one-sided paired test).
        The probe is the default because its valid score is honest, while the network's, the best of its
        evaluations, is optimistic, and on a few dozen valid rows the two differ by noise. On tiny data the probe
        keeps what fine-tuning loses (``ecoli_promoters``, BENCHMARKS.md). Its head reads
        ``"layers_mean"``, so it is left out when ``pooling`` asks for another head. When it is kept, ``.history``
        is still the fine-tuning run's and ``.metrics`` the probe's; with ``output_dir`` it is saved to
        ``output_dir/linear-probe``.
    baseline
        Classification with ``valid``: also fit the k-mer baseline (:func:`dnabert_nb.baseline` on the same
        ``train`` and ``valid``; seconds against the minutes of fine-tuning), keep it as the result's
        ``.baseline``, draw its valid MCC in the live figure as training goes, print both valid MCCs when
        ``progress`` is on, and warn (:class:`BaselineWarning`) when the baseline scores higher: the
        transformer then adds nothing over k-mer counts on this data. The warning gives the share of bootstrap
        resamples of valid on which the baseline is ahead, so that a gap within the noise of a few valid rows
        reads as such.
    blend
        With ``baseline``: return a weighted mean of the model's and the k-mer baseline's class probabilities
        where one scores ``metric`` higher on valid than the model alone (the model's share of 1, 0.75, 0.5,
        0.25, 0: the k-mer counts alone, on a tie the larger share of the model; :mod:`dnabert_nb.training.blend`).
        On genomic backgrounds k-mer composition carries signal a small model learns only in part. The blend is
        part of the returned network (its repr says ``kmer_blend``), so predict, evaluate, scan, variant effects,
        mutagenesis and design run it, and it saves and loads with the model; attention maps, token
        contributions and the motifs found from them read the network alone. ``.metrics`` are then the blend's;
        with ``output_dir`` it is saved to ``output_dir/kmer-blend``. Needs the baseline's k no longer than the
        model's (DNABERT-6: always).
    {seed}
        Here: the head, the batch order and dropout.
    {precision}
        Training autocasts to bf16 where it is fast and keeps fp32 weights; ``"int8"`` is for inference only, and
        a model loaded with it trains (and is evaluated here) in ``"auto"``.
    {output_dir}
    save_every
        Also write ``last/`` every this many steps (None: at evaluations only).
    {resume}
    {log_every}
    {progress}
    live_plot
        One live figure of the curves updated in place (``"auto"``: in a Jupyter notebook).
    {callbacks}

    Returns
    -------
    DNABERTModel
        The fine-tuned model (best evaluation restored) with ``.history`` (DataFrame by step:
        ``epoch``, ``loss``, ``lr``, ``samples_per_s``, and ``valid_loss`` / ``valid_<metric>``
        at evaluations), ``.metrics`` (the best evaluation, or None without ``valid``), ``.baseline``
        (the fitted :class:`~dnabert_nb.KmerBaseline`, or None) and ``.checkpoint`` (the folder under
        ``output_dir`` holding this model, or None).
    """
    options = dict(locals())
    config = FinetuneConfig(**{name: options[name] for name in FinetuneConfig.__dataclass_fields__})
    run = FinetuneRun(model, labelled_task(model, train, valid, task), config)
    return run.choose(run.train())


class FinetuneRun:
    """One call of :func:`finetune`: the data as windows, the processes, the k-mer baseline (fitted first, so that
    the live figure draws it while the model trains), and the attempts."""

    def __init__(self, model: DNABERTModel, data: LabelledTask, config: FinetuneConfig):
        self.model, self.data, self.config = model, data, config
        self.output_dir = loop.check_output_dir(config.output_dir, config.resume)
        self.metric = config.metric or DEFAULT_METRIC[data.task]
        check_metric(self.metric, data.task, data.names)
        self.maximize = self.metric not in LOWER_IS_BETTER
        self.token_ids, self.offsets = model.tokenizer.kmer_ids(data.sequences, data.ids)
        self.windows = window_runs(model.tokenizer, self.offsets, None)
        self.processes = Processes(model.device)
        self.precision = training_precision(config.precision, model.precision)
        self.dtype = resolve_precision(self.precision, self.processes.device, training=True)
        self.weights = class_weight_tensor(config.class_weights, data.targets, data.task, len(data.names))
        self.tell = PhaseTeller(config.callbacks)
        self.kmer_baseline = None
        if config.baseline and data.task == "classification" and data.evaluation is not None:
            self.kmer_baseline = baseline_unless_stopped(data, config.seed, self.tell)

    def train(self) -> list[ScoredModel]:
        """The first attempt and, while one ends as a constant predictor, restarts on seeds of their own."""
        restarts, seed, output_dir = self.config.restarts, self.config.seed, self.output_dir
        tried = [self.attempt(seed, output_dir, last=restarts == 0)]
        while len(tried) <= restarts and not self.tell.stop_wanted() and collapsed(tried[-1].model, self.data.task):
            folder = None if output_dir is None else output_dir / f"restart-{len(tried)}"
            tried.append(self.attempt(restart_seed(seed, len(tried)), folder, last=len(tried) == restarts))
        return tried

    def attempt(self, seed: int, folder: Path | None, last: bool) -> ScoredModel:
        """Train one network from ``seed`` into ``folder``; the StallGuard may end it early unless it is the
        ``last`` attempt."""
        config, data, processes, model = self.config, self.data, self.processes, self.model
        network = task_network(model, data.task, data.names, seed)
        if config.pooling is not None:
            network.config.classifier_pooling, network.config.classifier_layers = config.pooling, None
        network.config.train_sequence_length = int(np.median(np.diff(self.offsets))) + model.tokenizer.k - 1
        trainable = (with_lora(network, config.lora) if config.lora else network).to(processes.device)
        result = DNABERTModel(
            network,
            model.tokenizer,
            labels=data.names,
            device=processes.device,
            precision=model.precision,
            source=f"finetune({model.source})",
        )
        windows, starts, n_kmers = self.windows
        job = FinetuneJob(
            result,
            trainable,
            lora=config.lora,
            evaluation=data.evaluation,
            batch_size=config.batch_size,
            seed=seed,
            crop=config.crop,
            reverse_complement=config.reverse_complement,
            windows=TrainingWindows(self.token_ids, starts, n_kmers, data.targets[windows.sequence_index]),
            weights=None if self.weights is None else self.weights.to(processes.device),
            dtype=self.dtype,
            precision=self.precision,
            processes=processes,
        )
        n_epochs, every, patience = self.plan(job.steps_per_epoch)
        total_steps = job.steps_per_epoch * n_epochs
        optimizer = torch.optim.AdamW(parameter_groups(trainable, config.weight_decay), lr=config.lr)
        scheduler = loop.linear_schedule(optimizer, loop.warmup_steps(config.warmup, total_steps), total_steps)
        settings = loop.as_settings(
            task=data.task,
            names=data.names,
            epochs=n_epochs,
            lr=config.lr,
            batch_size=config.batch_size,
            seed=seed,
            warmup=config.warmup,
            weight_decay=config.weight_decay,
            eval_every=every,
            lora=config.lora,
            crop=config.crop,
            reverse_complement=config.reverse_complement or None,  # None: as in checkpoints written before it
            metric=self.metric,
            precision=str(self.dtype),
            world_size=processes.world_size,
            data=loop.fingerprint(data.sequences, data.targets),
        )
        torch.manual_seed(seed + 1 + processes.rank)
        guarded = not last and data.task == "classification"
        outcome = loop.run(
            job,
            optimizer=optimizer,
            scheduler=scheduler,
            total_steps=total_steps,
            steps_per_epoch=job.steps_per_epoch,
            schedule=loop.Schedule(
                config.log_every, every, config.save_every, self.metric, patience, maximize=self.maximize
            ),
            settings=settings,
            processes=processes,
            output_dir=folder,
            resume=config.resume,
            callbacks=[*config.callbacks, StallGuard(collapse_score(data.task))] if guarded else config.callbacks,
            progress=config.progress,
            live_plot=config.live_plot,
            live_plot_options={"baseline": self.kmer_baseline},
        )
        finished = job.model()
        if outcome.best_weights is not None:
            finished.network.load_state_dict(outcome.best_weights)
        finished.network.eval()
        finished.history = pd.DataFrame(outcome.state.history)
        finished.metrics = outcome.state.best_metrics
        finished.checkpoint = outcome.checkpoint
        return ScoredModel(finished, job.best_outputs)

    def plan(self, steps_per_epoch: int) -> tuple[int, int | None, int | None]:
        """Epochs, steps between evaluations (None: every epoch) and early-stopping patience."""
        config = self.config
        if config.epochs != "auto":
            return config.epochs, config.eval_every, config.early_stopping_patience
        every = auto_eval_every(steps_per_epoch) if config.eval_every is None else config.eval_every
        patience = config.early_stopping_patience
        if patience is None:
            patience = auto_patience(every or steps_per_epoch)
        return auto_epochs(steps_per_epoch), every, patience

    def choose(self, tried: list[ScoredModel]) -> DNABERTModel:
        """The model to return: the best attempt (said so where runs restarted), or the linear probe where the
        network does not clearly beat it on valid, blended with the k-mer baseline where that scores higher on
        valid; with the k-mer baseline beside it."""
        config, data = self.config, self.data
        best, best_outputs = tried[0]
        if len(tried) > 1:  # on a tie the later run, which trained longer
            sign = 1 if self.maximize else -1
            best, best_outputs = max(reversed(tried), key=lambda ft: ft.model.metrics[self.metric] * sign)
            self.warn_restarted(tried)
        show = config.progress and self.processes.is_main
        probe_wanted = config.linear_probe and config.pooling in (None, "layers_mean")  # another head was asked for
        if probe_wanted and data.task == "classification" and best.metrics is not None:
            probed = self.probe(show)
            if probed is not None:
                probe, probe_outputs = probed
                if best_outputs is None:  # resumed after its best evaluation
                    best_outputs = window_outputs(best, data.evaluation[0], precision=self.precision)
                network = ScoredModel(best, best_outputs)
                if keeps_probe(network, ScoredModel(probe, probe_outputs), data, self.metric, config.seed, show):
                    probe.history = best.history
                    best, best_outputs = probe, probe_outputs
                    self.save_kept(best, PROBE_FOLDER)
        blend_wanted = config.blend and best.metrics is not None and not self.tell.stop_wanted()
        if self.kmer_baseline is not None and blend_wanted:
            best_outputs = self.blend(best, best_outputs, show)
        best.training_digest = data.digest
        if best.history is not None:
            best.history.attrs["model"] = model_kind(best)
        if self.kmer_baseline is not None:
            best.baseline = self.kmer_baseline
            scored = ScoredModel(best, best_outputs)
            compare_with_baseline(scored, data, self.precision, show=show, name=model_kind(best), seed=config.seed)
        return best

    def probe(self, show: bool) -> tuple[DNABERTModel, object] | None:
        """The linear probe and its valid outputs; None where it cannot be fitted or a stop was asked for."""
        try:
            return probe_model(
                self.model,
                self.data,
                seed=self.config.seed,
                device=self.processes.device,
                precision=self.precision,
                progress=show,
                tell=self.tell,
            )
        except ProbeStopped:
            if show:
                print("linear probe: stopped on request; kept the fine-tuned network")
            return None

    def blend(self, best: DNABERTModel, outputs: EvaluationOutputs | None, show: bool) -> EvaluationOutputs | None:
        """Blend ``best`` with the k-mer baseline where that scores higher on valid (:mod:`.blend`), saved under
        ``output_dir``; the valid outputs of what is returned."""
        choice = choose_blend(best, self.kmer_baseline, self.data, self.metric, self.precision)
        if show and choice.valid_scores:
            tried = ", ".join(f"{share:g}: {score:.3f}" for share, score in choice.valid_scores.items())
            print(f"valid {self.metric} by the model's share of a blend with k-mer counts: {tried}")
        if choice.outputs is None:
            return outputs
        self.save_kept(best, BLEND_FOLDER)
        return choice.outputs

    def save_kept(self, kept: DNABERTModel, folder: str) -> None:
        """Save a kept probe or blend under ``output_dir/folder`` (where there is one), as its ``.checkpoint``."""
        if self.output_dir is not None:
            kept.checkpoint = self.output_dir / folder
            if self.processes.is_main:
                kept.save(kept.checkpoint, overwrite=True)

    def warn_restarted(self, tried: list[ScoredModel]) -> None:
        """Say that the first run collapsed, which seeds were tried and which was kept."""
        seed, metric = self.config.seed, self.metric
        warnings.warn(
            f"Fine-tuning collapsed to a constant predictor on valid with seed {seed} (or still was one after a "
            f"quarter of its steps); restarted {len(tried) - 1} time(s) with seed "
            + ", ".join(str(restart_seed(seed, n)) for n in range(1, len(tried)))
            + f" and kept the best (valid {metric} "
            + ", ".join(f"{ft.model.metrics[metric]:.3f}" for ft in tried)
            + ")."
            + (rare_class_hint(self.data) if self.config.class_weights is None else ""),
            CollapseWarning,
            stacklevel=5,  # the caller of finetune's renamed_options wrapper
        )
