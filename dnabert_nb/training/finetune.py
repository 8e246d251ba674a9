"""finetune: supervised training of a DNABERT model on labelled sequences, through the one training loop."""

from __future__ import annotations

import copy
import math
import numbers
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm
from transformers import BertForSequenceClassification

from .._deprecation import renamed_options
from .._docs import shared_docs
from ..core.inference import logits, window_runs
from ..core.model import HEAD_POOLINGS, NEW_HEAD_POOLING, DNABERTModel
from ..core.predict import embed
from ..core.processes import Processes
from ..core.runtime import resolve_precision, training_precision
from ..core.tokenizer import pack_inputs
from ..dna.errors import (
    InputFormatError,
    MissingDependencyError,
    ModelTaskError,
    TrainingError,
    require_non_negative_integers,
    require_positive_integers,
    require_positive_integers_or_none,
    require_positive_numbers,
)
from . import loop
from .baseline import KmerBaseline, fit_baseline
from .callbacks import Callback, require_callbacks
from .evaluate import EvaluationOutputs, bootstrap_wins, output_scores, window_outputs
from .metrics import LOWER_IS_BETTER, check_metric, log_probabilities
from .probe import ProbeStopped, fit_probe_head, probe_layers
from .targets import (
    DEFAULT_METRIC,
    PROBLEM_TYPES,
    LabelledTask,
    class_weight_tensor,
    labelled_task,
    task_loss,
)

#: Batches sorted together by length (length bucketing keeps padding low, order stays random).
BUCKET_BATCHES = 50
#: Tags the random draws of ``crop`` apart from the batch order's ((seed, epoch) would repeat them at step == epoch).
CROP_STREAM = 1
#: epochs="auto": see every training window this many times ...
AUTO_PASSES = 8
#: ... in at least the first and, where that allows, at most the second number of optimiser steps (small data gets
#: more epochs, large data fewer) ...
AUTO_STEPS = (500, 1000)
#: ... in this many epochs at the least and at the most ...
AUTO_EPOCHS = (3, 30)
#: ... evaluating on valid at the end of every epoch or, where an epoch is longer, every epoch / k steps (rounded up)
#: for the smallest k that keeps it at most this many, so that early stopping on a large set sees more than three
#: points ...
AUTO_EVAL_STEPS = 125
#: ... and stop after this many evaluations without improvement ...
AUTO_PATIENCE = 4
#: ... spanning at least this many steps: 4 epochs of 25 steps (800 rows) are too few to leave a constant predictor.
AUTO_PATIENCE_STEPS = 250
#: A run whose valid score is still a constant predictor's (:func:`collapse_score` at or below 0 at every evaluation)
#: once this share of its steps is done stops there and restarts with another seed, where ``restarts`` are left: on
#: 2,000 ``oct4_peaks`` rows (2-core bf16 CPU) seed 0 scored valid MCC 0.00 at step 250 of 1,000 and ended at 0.47,
#: below the probe and the baseline, where seeds 1 and 2 were at 0.49 and 0.59 by step 250 and ended near 0.69
#: (BENCHMARKS.md, "E. coli over 20 draws"). Dodge et al. (2020) found such unpromising seeds can be told early.
#: Single-label classification only: early in a regression run R² is often below 0 while the outputs are still
#: mis-scaled.
STALL_SHARE = 0.25
#: ... and only once this many evaluations have been seen, so that one evaluation at the end of a first epoch does
#: not decide alone.
STALL_EVALUATIONS = 2
#: A collapse warning suggests ``class_weights="balanced"`` where a class has less than this fraction of an even
#: share of the training rows (two classes: under 20%).
RARE_CLASS_SHARE = 0.4
#: Restart ``n`` trains with ``seed + n * RESTART_SEED_STEP``: apart from the neighbouring seeds a user sweeps, so
#: that seed 0's restart is not seed 1's run again.
RESTART_SEED_STEP = 1000
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


class CollapseWarning(UserWarning):
    """Fine-tuning collapsed to a constant predictor on valid and was restarted (``finetune(restarts=...)``)."""


class BaselineWarning(UserWarning):
    """The k-mer baseline scored higher on valid than the fine-tuned model (``finetune(baseline=True)``)."""


class ClassifierObjective(torch.nn.Module):
    """The task head's outputs as one module, so that data-parallel wrappers see its forward pass."""

    def __init__(self, network: torch.nn.Module):
        super().__init__()
        self.network = network

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return logits(self.network, input_ids, attention_mask)


def epoch_batches(
    lengths: np.ndarray, batch_size: int, seed: int, epoch: int, processes: Processes
) -> list[np.ndarray]:
    """This process's batches of one epoch: shuffled, bucketed by length, the same for a given seed and epoch."""
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths))
    batches = []
    bucket = batch_size * BUCKET_BATCHES
    for first in range(0, len(order), bucket):
        chunk = order[first : first + bucket]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    batches = [batches[i] for i in rng.permutation(len(batches))]
    usable = len(batches) - len(batches) % processes.world_size if processes.world_size > 1 else len(batches)
    return batches[processes.rank : usable : processes.world_size]


@dataclass
class TrainingWindows:
    """Every model-sized window of the training sequences: k-mer ids back to back, each window's run, its target."""

    token_ids: np.ndarray
    starts: np.ndarray
    n_kmers: np.ndarray
    targets: np.ndarray


class ScoredModel(NamedTuple):
    """A model ``finetune`` may return (the fine-tuned network, the linear probe) and its outputs on the valid rows,
    those its ``.metrics`` were computed from."""

    model: DNABERTModel
    valid_outputs: EvaluationOutputs | None


class FinetuneJob(loop.TrainingJob):
    """Supervised fine-tuning as the loop sees it: length-bucketed batches of windows, the task loss, evaluation."""

    description = "finetune"

    def __init__(
        self,
        result: DNABERTModel,
        trainable: torch.nn.Module,
        *,
        lora: object,
        windows: TrainingWindows,
        evaluation: tuple[list, np.ndarray] | None,
        batch_size: int,
        seed: int,
        crop: float | None,
        weights: torch.Tensor | None,
        dtype: torch.dtype,
        precision: str | None,
        processes: Processes,
    ):
        self.result, self.trainable, self.lora = result, trainable, lora
        self.windows, self.evaluation, self.batch_size, self.seed = windows, evaluation, batch_size, seed
        self.crop = crop
        self.weights, self.dtype, self.precision, self.processes = weights, dtype, precision, processes
        self.objective = processes.wrap(ClassifierObjective(trainable))
        self.latest_outputs: EvaluationOutputs | None = None  # of the last evaluation ...
        self.best_outputs: EvaluationOutputs | None = None  # ... and of the best one (None: before a resume)
        self._epoch: tuple[int, list[np.ndarray]] | None = None
        self.steps_per_epoch = len(self._batches(0))

    def _batches(self, epoch: int) -> list[np.ndarray]:
        if self._epoch is None or self._epoch[0] != epoch:
            self._epoch = (
                epoch,
                epoch_batches(self.windows.n_kmers, self.batch_size, self.seed, epoch, self.processes),
            )
        return self._epoch[1]

    def loss(self, step: int) -> tuple[torch.Tensor, dict[str, float]]:
        epoch, position = divmod(step, self.steps_per_epoch)
        rows = self._batches(epoch)[position]
        w, device = self.windows, self.processes.device
        starts, n_kmers = w.starts[rows], w.n_kmers[rows]
        if self.crop is not None:
            draw = np.random.default_rng((self.seed, step, self.processes.rank, CROP_STREAM))
            starts, n_kmers = random_crops(starts, n_kmers, self.crop, draw)
        inputs = pack_inputs(w.token_ids, starts, n_kmers)
        batch = {name: torch.from_numpy(array).to(device) for name, array in inputs.items()}
        targets = torch.from_numpy(w.targets[rows]).to(device)
        with torch.autocast(device.type, dtype=self.dtype, enabled=self.dtype != torch.float32):
            loss = task_loss(
                self.result.task, self.objective(batch["input_ids"], batch["attention_mask"]), targets, self.weights
            )
        return loss, {"loss": float(loss.detach()) * len(rows), "samples": len(rows)}

    def log_row(self, totals: dict[str, float], seconds: float) -> dict[str, float]:
        return {"loss": totals["loss"] / totals["samples"], "samples_per_s": totals["samples"] / seconds}

    def evaluate(self) -> dict[str, float] | None:
        if self.evaluation is None:
            return None
        sequences, targets = self.evaluation
        self.latest_outputs = window_outputs(self.model(), sequences, precision=self.precision)
        return output_scores(self.result.task, targets, self.latest_outputs, self.result.labels)

    def keep_as_best(self) -> None:
        self.best_outputs = self.latest_outputs

    def model(self) -> DNABERTModel:
        if not self.lora:  # the result wraps the very network being trained
            return self.result
        return DNABERTModel(
            copy.deepcopy(self.trainable).merge_and_unload(),
            self.result.tokenizer,
            labels=self.result.labels,
            device=self.result.device,
            precision=self.result.precision,
            source=self.result.source,
        )

    def restore(self, saved: DNABERTModel, extra: dict) -> None:
        if self.lora:  # the frozen weights are the starting model's; adapters and head come from the state
            self.trainable.load_state_dict(extra["trainable"], strict=False)
        else:
            self.trainable.load_state_dict(saved.network.state_dict())

    def extra_state(self) -> dict:
        if not self.lora:
            return {}
        return {
            "trainable": {name: p.detach().cpu() for name, p in self.trainable.named_parameters() if p.requires_grad}
        }


def task_network(model: DNABERTModel, task: str, names: list[str], seed: int) -> BertForSequenceClassification:
    """A copy of the model's network if its head fits the task; else its encoder under a new (mean-pooled) head."""
    if model.task == task and model.labels == names:
        return copy.deepcopy(model.network)
    config = copy.deepcopy(model.config)
    config.classifier_pooling = NEW_HEAD_POOLING
    config.classifier_layers = None  # not a probe's choice of hidden states
    config.num_labels = len(names)
    config.id2label = dict(enumerate(names))
    config.label2id = {name: i for i, name in enumerate(names)}
    config.problem_type = PROBLEM_TYPES[task]
    config.architectures = [BertForSequenceClassification.__name__]
    torch.manual_seed(seed)
    network = BertForSequenceClassification(config)
    missing, unexpected = network.bert.load_state_dict(model.encoder.state_dict(), strict=False)
    if [key for key in missing if not key.startswith("pooler.")] or unexpected:
        raise ModelTaskError(f"The encoder weights do not fit a classification network: {missing or unexpected}.")
    return network


def parameter_groups(network: torch.nn.Module, weight_decay: float) -> list[dict]:
    """AdamW groups: weight decay on weights, none on biases and LayerNorm."""
    decay, no_decay = [], []
    for name, parameter in network.named_parameters():
        if parameter.requires_grad:
            (no_decay if name.endswith("bias") or "LayerNorm" in name else decay).append(parameter)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def with_lora(network: BertForSequenceClassification, lora: object) -> torch.nn.Module:
    """``network`` with LoRA adapters on query, key and value (peft); head and pooler fully trained."""
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError as error:
        raise MissingDependencyError("lora= needs peft: pip install 'dnabert_nb[lora]'.") from error
    options = {"r": 8, "lora_alpha": 16, "lora_dropout": 0.1, "target_modules": ["query", "key", "value"]}
    options.update(lora if isinstance(lora, dict) else {})
    return get_peft_model(network, LoraConfig(modules_to_save=["classifier", "pooler"], **options))


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
    linear_probe: bool = True,
    baseline: bool = True,
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
    require_positive_integers(batch_size=batch_size, log_every=log_every)
    require_positive_integers_or_none(eval_every=eval_every)
    if epochs != "auto" and not (isinstance(epochs, int) and not isinstance(epochs, bool) and epochs >= 1):
        raise InputFormatError(f"epochs = {epochs!r}; give a positive whole number, or 'auto'.")
    require_non_negative_integers(restarts=restarts)
    if crop is not None and (isinstance(crop, bool) or not isinstance(crop, numbers.Real) or not 0 < crop <= 1):
        raise InputFormatError(f"crop = {crop!r}; give the share of each window to keep (above 0, at most 1), or None.")
    if pooling not in (None, *HEAD_POOLINGS):
        raise InputFormatError(
            f"pooling = {pooling!r}; use 'cls' (the [CLS] vector), 'mean' (the token mean) or 'layers_mean' (the "
            "token mean of every hidden state)."
        )
    require_positive_numbers(lr=lr)
    output_dir = loop.check_output_dir(output_dir, resume)
    data = labelled_task(model, train, valid, task)
    metric = metric or DEFAULT_METRIC[data.task]
    check_metric(metric, data.task, data.names)
    maximize = metric not in LOWER_IS_BETTER
    token_ids, offsets = model.tokenizer.kmer_ids(data.sequences, data.ids)
    windows, starts, n_kmers = window_runs(model.tokenizer, offsets, None)
    processes = Processes(model.device)
    precision = training_precision(precision, model.precision)
    dtype = resolve_precision(precision, processes.device, training=True)
    weights = class_weight_tensor(class_weights, data.targets, data.task, len(data.names))
    tell = PhaseTeller(callbacks)
    kmer_baseline = None  # fitted first, so that the live figure draws it while the model trains
    if baseline and data.task == "classification" and data.evaluation is not None:
        kmer_baseline = baseline_unless_stopped(data, seed, tell)

    def attempt(seed: int, folder: Path | None, last: bool) -> ScoredModel:
        network = task_network(model, data.task, data.names, seed)
        if pooling is not None:
            network.config.classifier_pooling, network.config.classifier_layers = pooling, None
        network.config.train_sequence_length = int(np.median(np.diff(offsets))) + model.tokenizer.k - 1  # for scan
        trainable = (with_lora(network, lora) if lora else network).to(processes.device)
        result = DNABERTModel(
            network,
            model.tokenizer,
            labels=data.names,
            device=processes.device,
            precision=model.precision,
            source=f"finetune({model.source})",
        )
        job = FinetuneJob(
            result,
            trainable,
            lora=lora,
            evaluation=data.evaluation,
            batch_size=batch_size,
            seed=seed,
            crop=crop,
            windows=TrainingWindows(token_ids, starts, n_kmers, data.targets[windows.sequence_index]),
            weights=None if weights is None else weights.to(processes.device),
            dtype=dtype,
            precision=precision,
            processes=processes,
        )
        n_epochs = auto_epochs(job.steps_per_epoch) if epochs == "auto" else epochs
        every = auto_eval_every(job.steps_per_epoch) if epochs == "auto" and eval_every is None else eval_every
        patience = early_stopping_patience
        if epochs == "auto" and early_stopping_patience is None:
            patience = auto_patience(every or job.steps_per_epoch)
        total_steps = job.steps_per_epoch * n_epochs
        optimizer = torch.optim.AdamW(parameter_groups(trainable, weight_decay), lr=lr)
        scheduler = loop.linear_schedule(optimizer, loop.warmup_steps(warmup, total_steps), total_steps)
        settings = loop.as_settings(
            task=data.task,
            names=data.names,
            epochs=n_epochs,
            lr=lr,
            batch_size=batch_size,
            seed=seed,
            warmup=warmup,
            weight_decay=weight_decay,
            eval_every=every,
            lora=lora,
            crop=crop,
            metric=metric,
            precision=str(dtype),
            world_size=processes.world_size,
            data=loop.fingerprint(data.sequences, data.targets),
        )
        torch.manual_seed(seed + 1 + processes.rank)
        outcome = loop.run(
            job,
            optimizer=optimizer,
            scheduler=scheduler,
            total_steps=total_steps,
            steps_per_epoch=job.steps_per_epoch,
            schedule=loop.Schedule(log_every, every, save_every, metric, patience, maximize=maximize),
            settings=settings,
            processes=processes,
            output_dir=folder,
            resume=resume,
            callbacks=callbacks
            if last or data.task != "classification"
            else [*callbacks, StallGuard(collapse_score(data.task))],
            progress=progress,
            live_plot=live_plot,
            live_plot_options={"baseline": kmer_baseline},
        )
        finished = job.model()
        if outcome.best_weights is not None:
            finished.network.load_state_dict(outcome.best_weights)
        finished.network.eval()
        finished.history = pd.DataFrame(outcome.state.history)
        finished.metrics = outcome.state.best_metrics
        finished.checkpoint = outcome.checkpoint
        return ScoredModel(finished, job.best_outputs)

    tried = [attempt(seed, output_dir, last=restarts == 0)]
    while restarts and not tell.stop_wanted() and collapsed(tried[-1].model, data.task) and len(tried) <= restarts:
        folder = None if output_dir is None else output_dir / f"restart-{len(tried)}"
        tried.append(attempt(restart_seed(seed, len(tried)), folder, last=len(tried) == restarts))
    best, best_outputs = tried[0]
    if len(tried) > 1:  # on a tie the later run, which trained longer
        best, best_outputs = max(reversed(tried), key=lambda ft: ft.model.metrics[metric] * (1 if maximize else -1))
        warnings.warn(
            f"Fine-tuning collapsed to a constant predictor on valid with seed {seed} (or still was one after a "
            f"quarter of its steps); restarted {len(tried) - 1} time(s) with seed "
            + ", ".join(str(restart_seed(seed, n)) for n in range(1, len(tried)))
            + f" and kept the best (valid {metric} "
            + ", ".join(f"{ft.model.metrics[metric]:.3f}" for ft in tried)
            + ")."
            + (rare_class_hint(data) if class_weights is None else ""),
            CollapseWarning,
            stacklevel=3,  # the caller of finetune's renamed_options wrapper
        )
    show, name = progress and processes.is_main, "fine-tuned model"
    probe_wanted = linear_probe and pooling in (None, "layers_mean")  # an explicit other head is what was asked for
    if probe_wanted and data.task == "classification" and best.metrics is not None:
        try:
            probed = probe_model(
                model, data, seed=seed, device=processes.device, precision=precision, progress=show, tell=tell
            )
        except ProbeStopped:
            probed = None
            if show:
                print("linear probe: stopped on request; kept the fine-tuned network")
        if probed is not None:
            probe, probe_outputs = probed
            if best_outputs is None:  # resumed after its best evaluation
                best_outputs = window_outputs(best, data.evaluation[0], precision=precision)
            if keeps_probe(
                ScoredModel(best, best_outputs), ScoredModel(probe, probe_outputs), data, metric, seed, show
            ):
                probe.history = best.history
                best, best_outputs, name = probe, probe_outputs, "linear probe"
                if output_dir is not None:
                    best.checkpoint = output_dir / PROBE_FOLDER
                    if processes.is_main:
                        best.save(best.checkpoint, overwrite=True)
    best.training_digest = data.digest
    if kmer_baseline is not None:
        best.baseline = kmer_baseline
        compare_with_baseline(ScoredModel(best, best_outputs), data, precision, show=show, name=name, seed=seed)
    return best


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
        compare_with_baseline(ScoredModel(probe, outputs), data, precision, show=progress, name="linear probe")
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


def restart_seed(seed: int, restart: int) -> int:
    """The seed of restart number ``restart`` (1, 2, ...) of a run with ``seed``: :data:`RESTART_SEED_STEP` apart."""
    return seed + restart * RESTART_SEED_STEP


def rare_class_hint(data: LabelledTask) -> str:
    """For a collapse warning: where a class has under :data:`RARE_CLASS_SHARE` of an even share of the training
    rows, suggest balanced class weights (predicting the common class is where an unweighted loss settles first)."""
    if data.task != "classification":
        return ""
    shares = np.bincount(data.targets, minlength=len(data.names)) / len(data.targets)
    rarest = int(np.argmin(shares))
    if shares[rarest] >= RARE_CLASS_SHARE / len(data.names):
        return ""
    return (
        f" Class {data.names[rarest]!r} is {shares[rarest]:.1%} of the training rows: class_weights='balanced' "
        "weighs every class equally in the loss."
    )


def collapse_score(task: str) -> str:
    """The valid score at or below 0 for a constant predictor: R² for regression, MCC otherwise."""
    return "r2" if task == "regression" else "mcc"


def collapsed(model: DNABERTModel, task: str) -> bool:
    """Whether a fine-tuned model scored like a constant predictor on valid (MCC or R² at or below 0)."""
    if model.metrics is None:
        return False
    score = model.metrics.get(collapse_score(task))
    return score is not None and score <= 0


class StallGuard(Callback):
    """Stops a run whose every evaluation so far (:data:`STALL_EVALUATIONS` at least) scored like a constant
    predictor (``score`` at or below 0) once :data:`STALL_SHARE` of its steps are done, so that ``finetune``
    restarts it with another seed; a resumed run that had stopped so stops again before its first step.

    Parameters
    ----------
    score
        The valid score to watch, from :func:`collapse_score`.
    """

    def __init__(self, score: str):
        self.column = f"valid_{score}"

    def stalled(self, state: loop.TrainingState) -> bool:
        """Whether the run has scored like a constant predictor at every evaluation and should stop now."""
        if state.step < STALL_SHARE * state.total_steps:
            return False
        seen = [row[self.column] for row in state.history if np.isfinite(row.get(self.column, np.nan))]
        return len(seen) >= STALL_EVALUATIONS and max(seen) <= 0

    def on_start(self, state: loop.TrainingState) -> None:
        if self.stalled(state):
            state.request_stop()

    def on_evaluate(self, state: loop.TrainingState, scores: dict[str, float]) -> None:
        if self.stalled(state):  # the history holds this evaluation's row already
            state.request_stop()


def random_crops(
    starts: np.ndarray, n_kmers: np.ndarray, keep: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A random run inside each k-mer run (``starts``, ``n_kmers``) of at least ``keep`` of its length."""
    lengths = np.ceil(n_kmers * (keep + (1 - keep) * rng.random(len(n_kmers)))).astype(n_kmers.dtype)
    lengths = np.clip(lengths, 1, n_kmers)
    shifts = np.floor(rng.random(len(n_kmers)) * (n_kmers - lengths + 1)).astype(starts.dtype)
    return starts + shifts, lengths


def auto_patience(steps_between_evaluations: int) -> int:
    """``epochs="auto"``: evaluations without improvement before stopping, spanning :data:`AUTO_PATIENCE_STEPS`."""
    return max(AUTO_PATIENCE, math.ceil(AUTO_PATIENCE_STEPS / steps_between_evaluations))


def auto_eval_every(steps_per_epoch: int) -> int | None:
    """``epochs="auto"``: steps between evaluations, the epoch split into the fewest equal parts (rounded up) of at
    most :data:`AUTO_EVAL_STEPS`; None (the end of every epoch) where an epoch is that short already."""
    if steps_per_epoch <= AUTO_EVAL_STEPS:
        return None
    return math.ceil(steps_per_epoch / math.ceil(steps_per_epoch / AUTO_EVAL_STEPS))


def auto_epochs(steps_per_epoch: int) -> int:
    """``epochs="auto"``: :data:`AUTO_PASSES` epochs, more where they take fewer than the first of
    :data:`AUTO_STEPS` optimiser steps, fewer where they take more than the second; within :data:`AUTO_EPOCHS`."""
    fewest, most = (math.ceil(AUTO_STEPS[0] / steps_per_epoch), max(1, AUTO_STEPS[1] // steps_per_epoch))
    low, high = AUTO_EPOCHS
    return int(min(high, max(low, fewest, min(AUTO_PASSES, most))))
