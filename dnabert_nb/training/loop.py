"""The one training loop: steps, logging, evaluation, ``best/`` and ``last/`` checkpoints, exact resume, callbacks.

``finetune`` and ``pretrain`` describe their training as a :class:`TrainingJob` (batches, loss, the history row,
evaluation, the model to save) and hand it to :func:`run`, which owns everything else: the optimizer step, the
schedule, the running totals, when to log, evaluate and save, early stopping, a stop asked for by a callback,
and resuming an interrupted run exactly (weights, optimizer, schedule, random states, history).
"""

from __future__ import annotations

import json
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..core.errors import InputFormatError
from ..core.model import DNABERTModel, atomic_folder, load
from .callbacks import Callback
from .distributed import Processes

STATE_FILE = "training_state.pt"
LAST, BEST = "last", "best"


@dataclass
class TrainingState:
    """Where a training run stands; written with every checkpoint and restored on resume.

    Callbacks read it; a callback calls :meth:`request_stop` to end the run after the current step
    (the model returned is then the best one evaluated so far).

    Attributes
    ----------
    step, total_steps : int
        Optimizer steps done, and planned.
    steps_per_epoch : int or None
        None where training has no epochs (pre-training draws windows at random).
    history : list of dict
        One row per logged or evaluated step (``step``, ``epoch``, training columns, ``valid_*`` columns).
    best_score : float
        The best value of the selection metric so far (``-inf`` before the first evaluation).
    best_step : int or None
        The step of that evaluation.
    best_metrics : dict or None
        Every score of that evaluation.
    stale_evaluations : int
        Evaluations since the best one (early stopping counts these).
    """

    step: int = 0
    total_steps: int = 0
    steps_per_epoch: int | None = None
    history: list[dict] = field(default_factory=list)
    best_score: float = -math.inf
    best_step: int | None = None
    best_metrics: dict | None = None
    stale_evaluations: int = 0
    stop_requested: bool = field(default=False, compare=False)

    @property
    def epoch(self) -> float | None:
        """Epochs done, as a fraction; None without epochs."""
        return None if self.steps_per_epoch is None else self.step / self.steps_per_epoch

    def request_stop(self) -> None:
        """Ask the loop to stop after the current step, keeping the best model evaluated so far."""
        self.stop_requested = True

    def record(self, values: dict) -> dict:
        """Add ``values`` to this step's history row (made if missing) and return the row."""
        if not self.history or self.history[-1]["step"] != self.step:
            row = {"step": self.step}
            if self.steps_per_epoch is not None:
                row["epoch"] = self.epoch
            self.history.append(row)
        self.history[-1].update(values)
        return self.history[-1]

    def to_json(self) -> str:
        """The saved part of the state as JSON text (``stop_requested`` is not saved)."""
        saved = asdict(self)
        saved.pop("stop_requested")
        return json.dumps(saved)

    @classmethod
    def from_json(cls, text: str) -> TrainingState:
        """The state saved by :meth:`to_json`."""
        return cls(**json.loads(text))


@dataclass(frozen=True)
class Schedule:
    """When the loop logs, evaluates and saves, and how it picks the best model.

    Attributes
    ----------
    log_every : int
        Steps per training row of the history (and at the last step).
    eval_every : int or None
        Steps between evaluations; None evaluates at the end of each epoch (or only at the end without epochs).
        The last step is always evaluated.
    save_every : int or None
        Extra ``last/`` checkpoints every this many steps; ``last/`` is also written at every evaluation.
    metric : str or None
        The evaluation score to maximise: the best one is kept and written to ``best/``; None keeps the last.
    patience : int or None
        Stop after this many evaluations without a better ``metric``; None never stops early.
    """

    log_every: int
    eval_every: int | None = None
    save_every: int | None = None
    metric: str | None = None
    patience: int | None = None

    def evaluates_at(self, state: TrainingState) -> bool:
        """True at a step that is evaluated."""
        if state.step == state.total_steps:
            return True
        if self.eval_every is not None:
            return state.step % self.eval_every == 0
        return state.steps_per_epoch is not None and state.step % state.steps_per_epoch == 0


class TrainingJob(ABC):
    """What one kind of training gives :func:`run`.

    Attributes
    ----------
    trainable : torch.nn.Module
        The module whose parameters the optimizer updates (and whose dropout ``train()`` turns on).
    """

    trainable: torch.nn.Module

    @abstractmethod
    def loss(self, step: int) -> tuple[torch.Tensor, dict[str, float]]:
        """The loss of step ``step`` (0-based) and this process's summable counts for the history row."""

    @abstractmethod
    def log_row(self, totals: dict[str, float], seconds: float) -> dict[str, float]:
        """A history row from counts summed over the logged steps and processes, and their duration."""

    @abstractmethod
    def evaluate(self) -> dict[str, float] | None:
        """Scores of the current weights on the evaluation data (keys without ``valid_``); None without any."""

    @abstractmethod
    def model(self) -> DNABERTModel:
        """The current weights as a model to save or return (a plain network: adapters merged)."""

    def restore(self, saved: DNABERTModel, extra: dict) -> None:
        """Load the weights of a ``last/`` checkpoint (``extra`` is what :meth:`extra_state` gave)."""
        self.trainable.load_state_dict(saved.network.state_dict())

    def extra_state(self) -> dict:
        """What resuming needs besides the saved model and the optimizer (e.g. a sampler's random state)."""
        return {}


def linear_schedule(
    optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over ``warmup_steps``, then linear decay to zero at ``total_steps``."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def warmup_steps(warmup: float, total_steps: int) -> int:
    """Warm-up steps from ``warmup``: a fraction of ``total_steps`` when below 1, else a number of steps."""
    if not (isinstance(warmup, (int, float)) and warmup >= 0):
        raise InputFormatError(f"warmup = {warmup!r}; give a fraction of the steps (e.g. 0.1) or a number of steps.")
    return max(1, round(warmup * total_steps) if warmup < 1 else int(warmup))


def check_resumable(saved: dict, current: dict, folder: object) -> None:
    """Refuse to resume a checkpoint written with other settings, naming the ones that differ."""
    if saved != current:
        changed = sorted(key for key in {**saved, **current} if saved.get(key) != current.get(key))
        raise InputFormatError(
            f"The checkpoint in {str(folder)!r} was trained with other settings ({', '.join(changed)}); "
            "use the same settings, another output_dir, or start afresh (resume=False)."
        )


def as_settings(**settings: Any) -> dict:
    """Settings as they are saved and compared on resume (JSON values; anything else as text)."""
    return json.loads(json.dumps(settings, default=str))


class _Checkpoints:
    """``last/`` (model + training state) and ``best/`` (model) under ``output_dir``, written by the first process."""

    def __init__(self, output_dir: Path | None, processes: Processes):
        self.output_dir, self.processes = output_dir, processes

    def resumable(self) -> Path | None:
        """The ``last/`` folder of an interrupted run, if there is one."""
        folder = None if self.output_dir is None else self.output_dir / LAST
        return folder if folder is not None and (folder / STATE_FILE).is_file() else None

    def save_last(self, job: TrainingJob, state: TrainingState, optimizer, scheduler, settings: dict) -> None:
        torch_states = self.processes.gather(torch.get_rng_state())
        extras = self.processes.gather(job.extra_state())
        if self.output_dir is not None and self.processes.is_main:
            with atomic_folder(self.output_dir / LAST) as staging:
                job.model().write_files(staging)
                torch.save(
                    {
                        "settings": settings,
                        "state": state.to_json(),
                        "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(),
                        "torch_rng": torch_states,
                        "extra": json.dumps(extras),
                    },
                    staging / STATE_FILE,
                )
        self.processes.barrier()

    def save_best(self, model: DNABERTModel) -> None:
        if self.output_dir is not None and self.processes.is_main:
            with atomic_folder(self.output_dir / BEST) as staging:
                model.write_files(staging)

    def resume(self, job: TrainingJob, optimizer, scheduler, settings: dict) -> TrainingState:
        folder = self.resumable()
        saved = torch.load(folder / STATE_FILE, map_location="cpu", weights_only=True)
        check_resumable(saved["settings"], settings, folder)
        if len(saved["torch_rng"]) != self.processes.world_size:
            raise InputFormatError(
                f"The checkpoint in {str(folder)!r} was written by {len(saved['torch_rng'])} processes; "
                f"resume it with as many (now {self.processes.world_size})."
            )
        job.restore(load(folder, device="cpu"), json.loads(saved["extra"])[self.processes.rank])
        optimizer.load_state_dict(saved["optimizer"])  # restores the learning rate of the next step too
        scheduler.load_state_dict(saved["scheduler"])
        torch.set_rng_state(saved["torch_rng"][self.processes.rank])  # last: loading models draws numbers
        return TrainingState.from_json(saved["state"])

    def best_weights(self) -> dict[str, torch.Tensor] | None:
        folder = None if self.output_dir is None else self.output_dir / BEST
        if folder is None or not (folder / "config.json").is_file():
            return None
        return load(folder, device="cpu").network.state_dict()


def apply_gradients(loss: torch.Tensor, parameters, optimizer, scheduler, max_norm: float = 1.0) -> None:
    """Backpropagate ``loss``, clip the gradient norm, step the optimizer and the schedule."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(parameters, max_norm)
    optimizer.step()
    scheduler.step()


@dataclass
class TrainingResult:
    """What :func:`run` returns: the final state and, where a metric picked one, the best weights."""

    state: TrainingState
    best_weights: dict[str, torch.Tensor] | None


def run(
    job: TrainingJob,
    *,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    total_steps: int,
    steps_per_epoch: int | None,
    schedule: Schedule,
    settings: dict,
    processes: Processes,
    output_dir: Path | None = None,
    resume: bool = False,
    callbacks: Sequence[Callback] = (),
) -> TrainingResult:
    """Train ``job`` for ``total_steps`` optimizer steps (or until stopped) and return where it ended.

    Parameters
    ----------
    job
        The batches, loss, history rows, evaluation and model of one kind of training.
    optimizer, scheduler
        Stepped once per step; saved with ``last/`` and restored on resume.
    total_steps, steps_per_epoch
        The plan; ``steps_per_epoch`` None for training without epochs.
    schedule
        When to log, evaluate and save; the metric that picks the best model; early-stopping patience.
    settings
        Everything that must be equal for a resume to continue the same run (see :func:`as_settings`).
    processes
        This process's place in a run of one or several processes.
    output_dir, resume
        Where ``last/`` and ``best/`` go; continue from ``output_dir/last`` when there is one.
    callbacks
        Told of the start, every step, every evaluation and the end (see :class:`Callback`).
    """
    checkpoints = _Checkpoints(output_dir, processes)
    if resume and checkpoints.resumable() is not None:
        best_weights = checkpoints.best_weights()
        state = checkpoints.resume(job, optimizer, scheduler, settings)  # last: it restores the random state
    else:
        state, best_weights = TrainingState(total_steps=total_steps, steps_per_epoch=steps_per_epoch), None
    for callback in callbacks:
        callback.on_start(state)
    totals: dict[str, float] = {}
    started = time.perf_counter()
    while state.step < state.total_steps and not state.stop_requested:
        job.trainable.train()  # evaluating and saving wrap the weights in a model, which switches to eval()
        loss, counts = job.loss(state.step)
        apply_gradients(loss, job.trainable.parameters(), optimizer, scheduler)
        state.step += 1
        for name, value in counts.items():
            totals[name] = totals.get(name, 0.0) + value
        row = None
        if state.step % schedule.log_every == 0 or state.step == state.total_steps:
            summed = dict(zip(totals, processes.sum(list(totals.values()))))
            row = state.record({**job.log_row(summed, time.perf_counter() - started), "lr": scheduler.get_last_lr()[0]})
            totals, started = {}, time.perf_counter()
        for callback in callbacks:
            callback.on_step(state, row)
        if schedule.evaluates_at(state) or state.stop_requested:
            best_weights = _evaluate(job, state, schedule, checkpoints, callbacks, best_weights)
            checkpoints.save_last(job, state, optimizer, scheduler, settings)
            if schedule.patience is not None and state.stale_evaluations >= schedule.patience:
                break
        elif schedule.save_every and state.step % schedule.save_every == 0:
            checkpoints.save_last(job, state, optimizer, scheduler, settings)
    job.trainable.eval()
    for callback in callbacks:
        callback.on_end(state)
    return TrainingResult(state, best_weights)


def _evaluate(
    job: TrainingJob,
    state: TrainingState,
    schedule: Schedule,
    checkpoints: _Checkpoints,
    callbacks: Sequence[Callback],
    best_weights: dict | None,
) -> dict | None:
    """Evaluate, record the scores, keep the best weights; return the best weights so far."""
    job.trainable.eval()
    scores = job.evaluate()
    if scores is None:
        return best_weights
    state.record({f"valid_{name}": value for name, value in scores.items() if name != "n"})
    for callback in callbacks:
        callback.on_evaluate(state, scores)
    if schedule.metric is None:
        return best_weights
    score = scores[schedule.metric]
    if np.isfinite(score) and score > state.best_score:
        state.best_score, state.best_step, state.best_metrics, state.stale_evaluations = score, state.step, scores, 0
        current = job.model()
        checkpoints.save_best(current)
        return {name: value.detach().clone() for name, value in current.network.state_dict().items()}
    state.stale_evaluations += 1
    return best_weights
