"""The one training loop: steps, logging, evaluation, ``best/`` and ``last/`` checkpoints, exact resume, callbacks.

``finetune`` and ``pretrain`` describe their training as a :class:`TrainingJob` (batches, loss, the history row,
evaluation, the model to save) and hand it to :func:`run`, which owns everything else: the optimizer step, the
schedule, the running totals, when to log, evaluate and save, early stopping, a stop asked for by a callback,
and resuming an interrupted run exactly (weights, optimizer, schedule, random states, history).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError

from ..core.model import DNABERTModel, load
from ..core.processes import Processes
from ..dna.errors import InputFormatError, OutputWarning, TrainingError
from ..dna.folders import atomic_folder, folder_lock, recover_interrupted_write
from .callbacks import Callback, standard_callbacks

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
    best_score : float or None
        The best value of the selection metric so far (None before the first evaluation).
    best_step : int or None
        The step of that evaluation.
    best_metrics : dict or None
        Every score of that evaluation.
    stale_evaluations : int
        Evaluations since the best one (early stopping counts these).
    pending : dict
        Counts of the steps since the last history row (so a resumed run logs what an uninterrupted one would).
    """

    step: int = 0
    total_steps: int = 0
    steps_per_epoch: int | None = None
    history: list[dict] = field(default_factory=list)
    best_score: float | None = None
    best_step: int | None = None
    best_metrics: dict | None = None
    stale_evaluations: int = 0
    pending: dict[str, float] = field(default_factory=dict)
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
        """The state shared by every process as JSON text (``pending``, each process's own, is saved apart;
        ``stop_requested`` is not saved)."""
        saved = asdict(self)
        saved.pop("stop_requested")
        saved.pop("pending")
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
        The evaluation score that picks the best model, kept and written to ``best/``; None keeps the last.
    maximize : bool
        Whether a larger ``metric`` is better (False for losses and errors).
    patience : int or None
        Stop after this many evaluations without a better ``metric``; None never stops early.
    """

    log_every: int
    eval_every: int | None = None
    save_every: int | None = None
    metric: str | None = None
    patience: int | None = None
    maximize: bool = True

    def out_of_patience(self, state: TrainingState) -> bool:
        """True once ``patience`` evaluations in a row did not improve (also for a run resumed after that)."""
        return self.patience is not None and state.stale_evaluations >= self.patience

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
    description : str
        The progress bar's label.
    shown_metric : str or None
        The evaluation score shown beside the loss when the schedule selects on none.
    """

    trainable: torch.nn.Module
    description: str = "train"
    shown_metric: str | None = None

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

    def keep_as_best(self) -> None:  # noqa: B027 - a hook: most jobs keep nothing beyond the weights
        """Called when the evaluation just made scored best so far, as its weights are kept."""


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


def check_output_dir(output_dir: str | os.PathLike | None, resume: bool) -> Path | None:
    """The output folder as a Path, proven writable before any training (nothing is made yet); a file, or a
    place that cannot be written, is refused, as is ``resume`` without a folder."""
    if output_dir is None:
        if resume:
            raise InputFormatError("resume=True needs the output_dir of the interrupted run.")
        return None
    folder = Path(output_dir).expanduser()
    existing = next(parent for parent in (folder, *folder.parents) if parent.exists())
    if not existing.is_dir():
        raise InputFormatError(
            f"output_dir {str(folder)!r} cannot be made: {str(existing)!r} is a file. Give a folder "
            "(it is made if missing)."
        )
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise InputFormatError(
            f"output_dir {str(folder)!r} cannot be written ({error.strerror or error} in {str(existing)!r}); "
            "give a folder you can write to."
        ) from error
    return folder


def fingerprint(*parts: object) -> str:
    """A short hash of training data (lists of sequences, arrays), saved with the settings so that resuming on
    other data is refused."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            digest.update(str((part.dtype, part.shape)).encode())
            digest.update(np.ascontiguousarray(part).tobytes())
        else:
            digest.update("\n".join(map(str, part)).encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def check_resumable(saved: dict, current: dict, folder: object) -> None:
    """Refuse to resume a checkpoint written with other settings or data, naming what differs."""
    if saved.get("data") != current.get("data"):
        raise InputFormatError(
            f"The checkpoint in {str(folder)!r} was trained on other data (the training rows differ); resume with "
            "the same data, use another output_dir, or start afresh (resume=False)."
        )
    changed = sorted(key for key in {**saved, **current} if saved.get(key) != current.get(key))
    if changed:  # a setting added since the checkpoint was written counts as unchanged at None
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
        self.unwritten: set[str] = set()  # the folders whose last write failed
        if output_dir is not None and processes.is_main:  # what a killed run left behind
            for name in (LAST, BEST):
                recover_interrupted_write(output_dir / name)

    @contextlib.contextmanager
    def _writing(self, name: str):
        """Write ``name`` in the block; a failed write (a full disk) is a warning, once, and training goes on."""
        try:
            yield
        except (OSError, SafetensorError, RuntimeError) as error:  # torch.save on a full disk: a RuntimeError
            if name not in self.unwritten:
                free = shutil.disk_usage(self.output_dir).free / 1e6
                warnings.warn(
                    f"Could not write the {name}/ checkpoint in {str(self.output_dir)!r} ({error}; {free:,.1f} MB "
                    "free there); training goes on "
                    "and the model is returned, but that checkpoint is missing or older until a write succeeds. "
                    "Free some space (or give another output_dir next time).",
                    OutputWarning,
                    stacklevel=2,
                )
            self.unwritten.add(name)
        else:
            self.unwritten.discard(name)

    def written(self, name: str) -> Path | None:
        """The folder ``name`` under ``output_dir`` if its last write succeeded."""
        folder = None if self.output_dir is None else self.output_dir / name
        return folder if folder is not None and name not in self.unwritten and folder.is_dir() else None

    def resumable(self) -> Path | None:
        """The ``last/`` folder of an interrupted run, if there is one."""
        folder = None if self.output_dir is None else self.output_dir / LAST
        return folder if folder is not None and (folder / STATE_FILE).is_file() else None

    def save_last(self, job: TrainingJob, state: TrainingState, optimizer, scheduler, settings: dict) -> None:
        torch_states = self.processes.gather(torch.get_rng_state())
        extras = self.processes.gather({**job.extra_state(), "pending": json.dumps(state.pending)})
        if self.output_dir is not None and self.processes.is_main:
            with self._writing(LAST), atomic_folder(self.output_dir / LAST) as staging:
                job.model().write_files(staging)
                torch.save(
                    {
                        "settings": settings,
                        "state": state.to_json(),
                        "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(),
                        "torch_rng": torch_states,
                        "extra": extras,
                    },
                    staging / STATE_FILE,
                )
        self.processes.barrier()

    def save_best(self, model: DNABERTModel) -> None:
        if self.output_dir is not None and self.processes.is_main:
            with self._writing(BEST), atomic_folder(self.output_dir / BEST) as staging:
                model.write_files(staging)

    def _saved(self) -> dict:
        return torch.load(self.resumable() / STATE_FILE, map_location="cpu", weights_only=True)

    def last_step(self) -> int:
        """The step of the ``last/`` checkpoint."""
        return TrainingState.from_json(self._saved()["state"]).step

    def resume(self, job: TrainingJob, optimizer, scheduler, settings: dict) -> TrainingState:
        folder = self.resumable()
        saved = self._saved()
        check_resumable(saved["settings"], settings, folder)
        if len(saved["torch_rng"]) != self.processes.world_size:
            raise InputFormatError(
                f"The checkpoint in {str(folder)!r} was written by {len(saved['torch_rng'])} processes; "
                f"resume it with as many (now {self.processes.world_size})."
            )
        extra = saved["extra"][self.processes.rank]
        job.restore(load(folder, device="cpu"), extra)
        optimizer.load_state_dict(saved["optimizer"])  # restores the learning rate of the next step too
        scheduler.load_state_dict(saved["scheduler"])
        torch.set_rng_state(saved["torch_rng"][self.processes.rank])  # last: loading models draws numbers
        state = TrainingState.from_json(saved["state"])
        state.pending = json.loads(extra["pending"])  # this process's own counts since the last row
        return state

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
    """What :func:`run` returns: the final state, where a metric picked one the best weights, and the checkpoint
    folder that holds the returned weights (``best/``, else ``last/``; None where none was written)."""

    state: TrainingState
    best_weights: dict[str, torch.Tensor] | None
    checkpoint: Path | None = None


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
    output_dir: str | os.PathLike | None = None,
    resume: bool = False,
    callbacks: Sequence[Callback] = (),
    progress: bool = True,
    live_plot: bool | str = False,
    live_plot_options: dict | None = None,
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
    progress, live_plot, live_plot_options
        Add a progress bar labelled ``job.description``, and the notebook figure of the curves drawn with
        ``live_plot_options`` (see :func:`~.callbacks.standard_callbacks`), before ``callbacks``.
    """
    folder = None if output_dir is None else Path(output_dir)
    with contextlib.ExitStack() as held:
        if folder is not None and processes.is_main:
            held.enter_context(folder_lock(folder))
        checkpoints = _Checkpoints(folder, processes)
        if not resume and processes.is_main and checkpoints.resumable() is not None:
            warnings.warn(
                f"{str(folder)!r} holds an earlier run (its last/ is at step {checkpoints.last_step()}); this run "
                "replaces its best/ and last/ as it saves. resume=True continues a run instead.",
                OutputWarning,
                stacklevel=3,
            )
        held.enter_context(_told_what_an_interrupt_kept(checkpoints, processes))
        callbacks = standard_callbacks(
            job.description,
            progress=progress,
            live_plot=live_plot,
            metric=schedule.metric or job.shown_metric,
            is_main=processes.is_main,
            callbacks=callbacks,
            live_plot_options=live_plot_options,
        )
        if resume and checkpoints.resumable() is not None:
            best_weights = checkpoints.best_weights()
            state = checkpoints.resume(job, optimizer, scheduler, settings)  # last: it restores the random state
        else:
            state, best_weights = TrainingState(total_steps=total_steps, steps_per_epoch=steps_per_epoch), None
        for callback in callbacks:
            callback.on_start(state)
        started = time.perf_counter()
        while state.step < state.total_steps and not state.stop_requested and not schedule.out_of_patience(state):
            job.trainable.train()  # evaluating and saving wrap the weights in a model, which switches to eval()
            loss, counts = job.loss(state.step)
            if processes.sum([float(not torch.isfinite(loss.detach()))])[0]:
                raise _diverged(state, loss, optimizer, checkpoints)
            apply_gradients(loss, job.trainable.parameters(), optimizer, scheduler)
            state.step += 1
            for name, value in counts.items():
                state.pending[name] = state.pending.get(name, 0.0) + value
            row = None
            if state.step % schedule.log_every == 0 or state.step == state.total_steps:
                summed = dict(zip(state.pending, processes.sum(list(state.pending.values()))))
                row = state.record(
                    {**job.log_row(summed, time.perf_counter() - started), "lr": scheduler.get_last_lr()[0]}
                )
                state.pending, started = {}, time.perf_counter()
            for callback in callbacks:
                callback.on_step(state, row)
            if schedule.evaluates_at(state) or state.stop_requested:
                best_weights = _evaluate(job, state, schedule, checkpoints, callbacks, best_weights)
                checkpoints.save_last(job, state, optimizer, scheduler, settings)
            elif schedule.save_every and state.step % schedule.save_every == 0:
                checkpoints.save_last(job, state, optimizer, scheduler, settings)
        job.trainable.eval()
        for callback in callbacks:
            callback.on_end(state)
    saved = checkpoints.written(BEST) if best_weights is not None else checkpoints.written(LAST)
    return TrainingResult(state, best_weights, saved)


@contextlib.contextmanager
def _told_what_an_interrupt_kept(checkpoints: _Checkpoints, processes: Processes) -> Iterator[None]:
    """On a KeyboardInterrupt (Ctrl-C, a notebook's stop button), say what was kept and how to go on; re-raise it."""
    try:
        yield
    except KeyboardInterrupt:
        if processes.is_main:
            saved = checkpoints.resumable()
            print(
                f"Interrupted. The last checkpoint is {str(saved)!r} (step {checkpoints.last_step()}): the same call "
                f"with output_dir={str(checkpoints.output_dir)!r}, resume=True goes on from there."
                if saved is not None
                else "Interrupted; no checkpoint was written (give output_dir= to keep one).",
                file=sys.stderr,
            )
        raise


def _diverged(state: TrainingState, loss: torch.Tensor, optimizer, checkpoints: _Checkpoints) -> TrainingError:
    """The error for a non-finite loss: where it happened, what was kept, what to try."""
    saved = checkpoints.resumable()
    kept = (
        f"the last good checkpoint is {str(saved)!r} (step {checkpoints.last_step()})"
        if saved is not None
        else "no checkpoint was written (give output_dir to keep one)"
    )
    return TrainingError(
        f"The training loss became {float(loss.detach())} at step {state.step + 1} of {state.total_steps}; the run "
        f"was stopped before that step changed any weight, and {kept}. Try a lower learning rate (now "
        f"{optimizer.param_groups[0]['lr']:.2g}), precision='fp32', or check the data for extreme values."
    )


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
    for callback in callbacks:
        callback.on_phase("evaluation", state.step, state.total_steps)
    scores = job.evaluate()
    if scores is None:
        return best_weights
    state.record({f"valid_{name}": value for name, value in scores.items() if name != "n"})
    for callback in callbacks:
        callback.on_evaluate(state, scores)
    if schedule.metric is None:
        return best_weights
    score = scores[schedule.metric]
    improved = state.best_score is None or (score > state.best_score if schedule.maximize else score < state.best_score)
    if np.isfinite(score) and improved:
        state.best_score, state.best_step, state.best_metrics, state.stale_evaluations = score, state.step, scores, 0
        job.keep_as_best()
        current = job.model()
        checkpoints.save_best(current)
        return {name: value.detach().clone() for name, value in current.network.state_dict().items()}
    state.stale_evaluations += 1
    return best_weights
