"""Shared fixtures: the official DNABERT files in ../shared and tiny checkpoints built from them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dnabert_nb.testing import TINY_SIZES, write_checkpoint

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DNABERT_CONFIG = SHARED / "dnabert-config"


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
