"""Ready task models: the embedded model fine-tuned on shipped tasks, stored in the package with int8 weights.

Each lives in ``dnabert_nb/models/ready/<name>/``: a checkpoint folder (``config.json`` with the class names,
``vocab.txt``, ``model.int8.safetensors``) and ``card.json``, which says what it was trained on, how, and what it
scored on its test split beside the k-mer baseline fitted on the same rows. ``scripts/build_ready_models.py``
builds them; ``dn.load(name)`` loads one and ``dn.models()`` lists them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from safetensors.torch import save_file

from ..dna.errors import InputFormatError
from ..dna.folders import atomic_folder
from .int8_weights import quantize_int8

if TYPE_CHECKING:
    from .model import DNABERTModel

#: Where the ready task models live in the package.
READY_MODELS = Path(__file__).resolve().parent.parent / "models" / "ready"
CARD = "card.json"
#: The columns of :func:`models`, in order.
MODEL_COLUMNS = (
    "name",
    "dataset",
    "classes",
    "kind",
    "train_rows",
    "test_rows",
    "test_mcc",
    "baseline_test_mcc",
    "about",
)


def ready_folder(name: str) -> Path | None:
    """The folder of the ready model called ``name``, or None when there is none."""
    folder = READY_MODELS / name
    return folder if "/" not in name and (folder / CARD).is_file() else None


def model_card(name: str) -> dict:
    """The card of the ready model ``name``: data, recipe, test scores (see :func:`models`)."""
    folder = ready_folder(name)
    if folder is None:
        raise InputFormatError(f"No ready model is called {name!r}; dn.models() lists them: {ready_names()}.")
    return json.loads((folder / CARD).read_text())


def named_classes(data: pd.DataFrame, card: dict) -> pd.DataFrame:
    """``data`` (rows of the card's dataset) with its labels renamed to the ready model's class names."""
    return data.assign(label=data["label"].astype(str).map(card["dataset_labels"]))


def ready_names() -> list[str]:
    """Names of the ready models shipped with the package."""
    return sorted(folder.name for folder in READY_MODELS.glob("*") if (folder / CARD).is_file())


def models() -> pd.DataFrame:
    """The ready task models shipped with the package, one row each; ``dn.load(name)`` loads one offline.

    Returns
    -------
    pandas.DataFrame
        ``name``, ``dataset`` (the shipped dataset it was trained on, ``dn.datasets.load``), ``classes`` (its class
        names, in head order), ``kind`` (fine-tuned network or linear probe), ``train_rows``, ``test_rows``,
        ``test_mcc`` (the shipped model on the dataset's test split), ``baseline_test_mcc`` (k-mer counts and
        logistic regression fitted on the same training rows, on the same test rows) and ``about``.
        ``dn.model_card(name)`` has the rest: recipe, training time, machine, commit.
    """
    cards = [model_card(name) for name in ready_names()]
    return pd.DataFrame([[card.get(column) for column in MODEL_COLUMNS] for card in cards], columns=MODEL_COLUMNS)


def write_ready(model: DNABERTModel, name: str, card: dict) -> Path:
    """Write ``model`` as the ready model ``name`` with int8 weights and ``card``; return its folder."""
    folder = READY_MODELS / name
    with atomic_folder(folder, overwrite=True) as staging:
        model.network.config.to_json_file(staging / "config.json")
        model.tokenizer.save_vocabulary(staging)
        save_file(quantize_int8(model.network.state_dict()), str(staging / "model.int8.safetensors"))
        (staging / CARD).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    return folder
