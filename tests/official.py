"""The official DNABERT files in ../shared (configs and vocabularies), for the tests that compare against them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dnabert_nb.testing import TINY_SIZES

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
