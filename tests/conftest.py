"""Shared fixtures: the official DNABERT files in ../shared and tiny checkpoints built from them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dnabert_nb.testing import TINY_SIZES, write_checkpoint

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DNABERT_CONFIG = SHARED / "dnabert-config"


def pytest_xdist_auto_num_workers(config):
    """``--numprocesses=auto``: one worker per core this process may run on (a container's share, not the
    host's count), at most 4."""
    return min(4, len(os.sched_getaffinity(0)))


def pytest_configure(config):
    """Under pytest-xdist, share the cores among the workers: each worker's torch, and the notebook kernels and
    servers it starts (they inherit OMP_NUM_THREADS), gets its part instead of every worker using them all."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    if workers:
        import torch

        threads = max(1, len(os.sched_getaffinity(0)) // workers)
        os.environ["OMP_NUM_THREADS"] = str(threads)
        torch.set_num_threads(threads)


def official_folder(k: int) -> Path:
    """The official bert-config-{k} folder; skips the test where ../shared is absent."""
    folder = DNABERT_CONFIG / f"bert-config-{k}"
    if not folder.is_dir():
        pytest.skip(f"{folder} is not available")
    return folder


def tiny_official_config(k: int) -> dict:
    """The official config.json of DNABERT-k, shrunk to a tiny network for tests."""
    fields = json.loads((official_folder(k) / "config.json").read_text())
    fields.update(TINY_SIZES)
    return fields


def official_vocab(k: int) -> list[str]:
    """The tokens of the official vocab.txt."""
    return (official_folder(k) / "vocab.txt").read_text().split()


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


#: Notebooks that read real data from Debian packages: skipped, with the apt-get line, where those are missing.
NOTEBOOK_DATA = {"06_your_peaks.ipynb": {"peak_files": ["gm12878_atac", "hg19_blacklist"], "genomes": ["hg19_chr20"]}}


def pytest_collection_modifyitems(config, items):
    import dnabert_nb as dn

    for item in items:
        for listing, names in NOTEBOOK_DATA.get(item.path.name, {}).items():
            table = getattr(dn.datasets, listing)().set_index("name").loc[names]
            missing = table[~table["installed"]]
            if len(missing):
                packages = " ".join(sorted(set(missing["package"])))
                item.add_marker(pytest.mark.skip(reason=f"needs Debian data: sudo apt-get install {packages}"))
