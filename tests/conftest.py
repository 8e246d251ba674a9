"""Shared fixtures: tiny checkpoints built from the official DNABERT files in ../shared (tests/official.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from official import official_vocab, tiny_official_config

from dnabert_nb.testing import write_checkpoint


def pytest_configure(config):
    """Share the cores among xdist's workers: torch (and the notebook kernels, Voilà and torchrun children, through
    ``OMP_NUM_THREADS``) runs ``cores // workers`` threads a worker. Two workers of two threads each on two cores
    wait on each other's threads: every test and notebook took 445 s that way, 380 s this way."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1 and "OMP_NUM_THREADS" not in os.environ:
        import torch

        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        threads = max(1, cores // workers)
        os.environ["OMP_NUM_THREADS"] = str(threads)
        torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory):
    """Build tiny checkpoints on demand: ``checkpoints(k, num_labels=None, weights=...)`` → folder."""
    made: dict[tuple, Path] = {}

    def build(k: int = 6, *, num_labels: int | None = None, weights: str = "pytorch_model.bin", seed: int = 0) -> Path:
        key = (k, num_labels, weights, seed)
        if key not in made:
            folder = tmp_path_factory.mktemp(f"dnabert{k}-{num_labels}-{weights.split('.')[-1]}")
            made[key] = write_checkpoint(
                folder,
                tiny_official_config(k),
                num_labels=num_labels,
                weights=weights,
                seed=seed,
                vocab=official_vocab(k),
            )
        return made[key]

    return build


@pytest.fixture(scope="module")
def encoder(checkpoints):
    """A tiny pre-trained (masked-LM) 4-mer model without a task head."""
    import dnabert_nb as dn

    return dn.load(checkpoints(4))


# The browser test pages are served by Voilà in tests/browser/, not run as notebooks of their own.
collect_ignore_glob = ["browser/pages/*"]
