"""The processes of a run: one, or several launched by `accelerate launch` / torchrun.

Training and inference talk to :class:`Processes` only, so the same call scales from a laptop to
several GPUs or nodes through Hugging Face Accelerate (torch.distributed underneath).
"""

from __future__ import annotations

import atexit
import os
from typing import Any

import numpy as np
import torch

from ..dna.errors import MissingDependencyError


class Processes:
    """This process's place in the run: rank, number of processes, device, and collectives.

    Parameters
    ----------
    device
        The device to use when running as a single process.
    """

    def __init__(self, device: torch.device):
        self.accelerator = None
        self.rank, self.world_size, self.device = 0, 1, device
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            try:
                from accelerate import Accelerator
            except ImportError as error:
                raise MissingDependencyError(
                    "Several processes were launched, which needs Hugging Face Accelerate: "
                    "pip install 'dnabert_nb[distributed]'."
                ) from error
            self.accelerator = Accelerator(cpu=device.type == "cpu")
            atexit.unregister(end_process_group)  # once, however many calls made a Processes (every predict does)
            atexit.register(end_process_group)
            self.rank, self.world_size = self.accelerator.process_index, self.accelerator.num_processes
            self.device = self.accelerator.device

    @property
    def is_main(self) -> bool:
        """True in the one process that writes files and shows progress."""
        return self.rank == 0

    def wrap(self, module: torch.nn.Module) -> torch.nn.Module:
        """Prepare a module for data-parallel training (gradients averaged across processes)."""
        return module if self.accelerator is None else self.accelerator.prepare_model(module)

    def sum(self, values: list[float]) -> list[float]:
        """Sum numbers over all processes."""
        if self.accelerator is None:
            return values
        total = self.accelerator.reduce(torch.tensor(values, dtype=torch.float64, device=self.device), "sum")
        return total.tolist()

    def gather(self, value: Any) -> list:
        """Every process's ``value``, in rank order."""
        if self.accelerator is None:
            return [value]
        from accelerate.utils import gather_object

        return gather_object([value])

    def shard(self, count: int) -> np.ndarray:
        """This process's share of ``count`` items: every ``world_size``-th index from its rank."""
        return np.arange(self.rank, count, self.world_size)

    def barrier(self) -> None:
        """Wait until every process gets here."""
        if self.accelerator is not None:
            self.accelerator.wait_for_everyone()


def end_process_group() -> None:
    """Destroy the default process group, once, before the interpreter exits.

    Left to the interpreter's own teardown, the group's communication threads can outlive it and abort a finished
    run at exit ("terminate called without an active exception"). :class:`Processes` registers it once.
    """
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def is_main_process() -> bool:
    """True in the process that should write files: the only one, or rank 0 of several launched by torchrun or
    ``accelerate launch`` (every process gets the whole result of ``predict``, ``scan``, ``variant_effects``...)."""
    return int(os.environ.get("RANK", "0")) == 0
