"""Shared fixtures: tiny checkpoints built from the official DNABERT files in ../shared (tests/official.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from official import official_vocab, tiny_official_config

from dnabert_nb.testing import write_checkpoint


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
