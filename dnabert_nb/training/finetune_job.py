"""The work of one fine-tuning run for the training loop: batches by length, the loss, evaluation, the model."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from ..core.inference import logits
from ..core.model import DNABERTModel
from ..core.processes import Processes
from ..core.tokenizer import pack_inputs, reverse_complement_ids
from . import loop
from .evaluate import EvaluationOutputs, output_scores, window_outputs
from .targets import task_loss

#: Batches sorted together by length (length bucketing keeps padding low, order stays random).
BUCKET_BATCHES = 50
#: Tag the random draws of ``crop`` and of ``reverse_complement`` apart from the batch order's ((seed, epoch) would
#: repeat them at step == epoch) and from each other.
CROP_STREAM, STRAND_STREAM = 1, 2


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
        reverse_complement: bool,
        weights: torch.Tensor | None,
        dtype: torch.dtype,
        precision: str | None,
        processes: Processes,
    ):
        self.result, self.trainable, self.lora = result, trainable, lora
        self.windows, self.evaluation, self.batch_size, self.seed = windows, evaluation, batch_size, seed
        self.crop = crop
        self.flip_table = reverse_complement_ids(result.tokenizer) if reverse_complement else None
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
        if self.flip_table is not None:
            draw = np.random.default_rng((self.seed, step, self.processes.rank, STRAND_STREAM))
            flip_strands(inputs["input_ids"], n_kmers, draw.random(len(rows)) < 0.5, self.flip_table)
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


def flip_strands(input_ids: np.ndarray, n_kmers: np.ndarray, chosen: np.ndarray, table: np.ndarray) -> None:
    """Turn the ``chosen`` rows of packed inputs (``[CLS] ids [SEP]``, ``n_kmers`` ids each) into their reverse
    complements, in place: the ids backwards, each through ``table`` (``tokenizer.reverse_complement_ids``)."""
    for row in np.flatnonzero(chosen):
        run = input_ids[row, 1 : 1 + n_kmers[row]]
        input_ids[row, 1 : 1 + n_kmers[row]] = table[run[::-1]]


def random_crops(
    starts: np.ndarray, n_kmers: np.ndarray, keep: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A random run inside each k-mer run (``starts``, ``n_kmers``) of at least ``keep`` of its length."""
    lengths = np.ceil(n_kmers * (keep + (1 - keep) * rng.random(len(n_kmers)))).astype(n_kmers.dtype)
    lengths = np.clip(lengths, 1, n_kmers)
    shifts = np.floor(rng.random(len(n_kmers)) * (n_kmers - lengths + 1)).astype(starts.dtype)
    return starts + shifts, lengths
