"""Reading DNABERT checkpoint folders safely: config, vocabulary and weights.

Weights load without executing code: ``model.safetensors``, or ``pytorch_model.bin``
through ``torch.load(weights_only=True)``; a pickle that would need anything
but tensors is refused. ``model.int8.safetensors`` (:mod:`.int8_weights`) is read back to fp32.
"""

from __future__ import annotations

import json
import os
import pickle
import re
from pathlib import Path

import torch
from transformers import BertConfig

from ..dna.errors import CheckpointError, ModelNotFoundError
from ..dna.folders import CHECKSUM_FILE, changed_files
from .int8_weights import dequantize_int8
from .ready import ready_folder, ready_names
from .tokenizer import KmerTokenizer

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.int8.safetensors")
#: Fields of hub configs that point at remote code or a custom architecture; never used.
IGNORED_CONFIG_FIELDS = ("auto_map", "split", "rnn", "rnn_hidden", "rnn_dropout", "num_rnn_layer")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def resolve_folder(path_or_id: str | os.PathLike) -> Path:
    """Return a local checkpoint folder: the path itself, a ready model's folder, or a hub snapshot when online.

    A folder of that name in the working directory wins over a ready model's name.

    Raises
    ------
    ModelNotFoundError
        When the path does not exist and the hub id cannot be fetched.
    """
    path = Path(path_or_id).expanduser()
    if path.is_dir():
        return path
    if path.exists():
        raise CheckpointError(
            f"{str(path)!r} is a file; load() wants the checkpoint folder that holds "
            "config.json, vocab.txt and the weights."
        )
    name = str(path_or_id)
    ready = ready_folder(name)
    if ready is not None:
        return ready
    how = (
        "Download the checkpoint folder (config.json, vocab.txt, pytorch_model.bin or "
        "model.safetensors) on a connected machine, copy it here and pass its path: "
        "dn.load('path/to/DNA_bert_6')."
    )
    if not _HUB_ID.match(name):
        raise ModelNotFoundError(
            f"No folder {name!r} exists, it is not a ready model (dn.models(): {', '.join(ready_names())}) "
            f"and it is not a hub id. {how}"
        )
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "") or os.environ.get("TRANSFORMERS_OFFLINE", "0") not in (
        "0",
        "",
    ):
        raise ModelNotFoundError(f"{name!r} is not a local folder and the hub is offline (HF_HUB_OFFLINE). {how}")
    from huggingface_hub import snapshot_download

    try:
        snapshot = snapshot_download(name, allow_patterns=["config.json", "vocab.txt", *WEIGHT_FILES], etag_timeout=10)
    except Exception as error:  # any network or hub failure means the same to the user
        raise ModelNotFoundError(
            f"{name!r} is not a local folder and could not be fetched from the hub ({type(error).__name__}). {how}"
        ) from error
    return Path(snapshot)


def read_config(folder: Path) -> BertConfig:
    """Read ``config.json`` as a plain BERT config, dropping fields that point at custom code."""
    path = folder / "config.json"
    if not path.is_file():
        raise CheckpointError(f"{str(folder)!r} has no config.json; is it a DNABERT checkpoint folder?")
    try:
        fields = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{str(path)!r} is not valid JSON: {error}") from error
    if not isinstance(fields, dict) or "vocab_size" not in fields:
        raise CheckpointError(f"{str(path)!r} is not a BERT config (no vocab_size).")
    model_type = fields.get("model_type", "bert")
    if model_type != "bert":
        raise CheckpointError(
            f"{str(path)!r} describes a {model_type!r} model; dnabert_nb loads k-mer BERT (DNABERT) models."
        )
    for field in IGNORED_CONFIG_FIELDS:
        fields.pop(field, None)
    try:
        return BertConfig.from_dict(fields)
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{str(path)!r} cannot be read as a BERT config: {error}") from error


def read_tokenizer(folder: Path, config: BertConfig) -> KmerTokenizer:
    """Build the k-mer tokenizer the checkpoint was trained with, checking ``vocab.txt`` against the config."""
    k = KmerTokenizer.k_for_vocab_size(config.vocab_size)
    if k is None:
        raise CheckpointError(
            f"config.json in {str(folder)!r} has vocab_size {config.vocab_size}; a DNABERT vocabulary "
            "has 69, 261, 1029 or 4101 tokens (k = 3, 4, 5, 6)."
        )
    tokenizer = KmerTokenizer(k)
    path = folder / "vocab.txt"
    if path.is_file():
        tokens = path.read_text(encoding="utf-8").split("\n")
        while tokens and not tokens[-1].strip():
            tokens.pop()
        tokens = [t.strip() for t in tokens]
        if len(tokens) != config.vocab_size:
            raise CheckpointError(
                f"vocab.txt in {str(folder)!r} has {len(tokens)} tokens but config.json says "
                f"vocab_size {config.vocab_size}; the two files come from different models."
            )
        if tokens != tokenizer.tokens:
            first = next(i for i, (a, b) in enumerate(zip(tokens, tokenizer.tokens)) if a != b)
            raise CheckpointError(
                f"vocab.txt in {str(folder)!r} differs from the official DNABERT {k}-mer vocabulary at "
                f"line {first + 1} ({tokens[first]!r}, expected {tokenizer.tokens[first]!r}); "
                "ids would map to the wrong k-mers."
            )
    return tokenizer


def read_weights(folder: Path) -> dict[str, torch.Tensor]:
    """Load the weights as a name → tensor dict, safely, with legacy names normalised.

    A file whose numbers are not all finite (a damaged copy, a diverged run), or that no longer has the SHA-256
    this package saved beside it (:data:`~.folders.CHECKSUM_FILE`), is refused. Legacy TensorFlow-era names
    (``LayerNorm.gamma/beta``) become ``weight/bias``; keys of a bare encoder get the ``bert.``
    prefix; ``position_ids`` buffers are dropped.
    """
    changed = changed_files(folder)
    if changed:
        raise CheckpointError(
            f"{', '.join(changed)} in {str(folder)!r} no longer match the checksums written with the model "
            f"({CHECKSUM_FILE}): the file was changed or damaged since it was saved (a copy error, a disk fault). "
            "Use another copy of the model."
        )
    safetensors_path, bin_path, int8_path = (folder / name for name in WEIGHT_FILES)
    if safetensors_path.is_file():
        state = _read_safetensors(safetensors_path)
    elif int8_path.is_file():
        state = dequantize_int8(_read_safetensors(int8_path), int8_path)
    elif bin_path.is_file():
        try:
            state = torch.load(bin_path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as error:
            if "GLOBAL" not in str(error):  # not a pickle of objects: junk, or a damaged file
                raise CheckpointError(f"{str(bin_path)!r} is not a readable PyTorch weight file.") from error
            raise CheckpointError(
                f"Refused to load {str(bin_path)!r}: it holds Python objects other than tensors, which "
                "would run code while loading. Only load it if you trust its source, convert it to "
                "model.safetensors, and load that."
            ) from error
        except (RuntimeError, EOFError, OSError) as error:
            raise CheckpointError(f"{str(bin_path)!r} is not a readable PyTorch weight file: {error}") from error
    else:
        present = sorted(p.name for p in folder.iterdir())
        raise CheckpointError(
            f"{str(folder)!r} has no weights: expected model.safetensors or pytorch_model.bin, found {present}."
        )
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"The weight file in {str(folder)!r} is not a flat name → tensor state dict.")
    bare_encoder = not any(key.startswith("bert.") for key in state)
    normalised = {}
    for key, tensor in state.items():
        if key.endswith("position_ids"):
            continue
        key = re.sub(r"LayerNorm\.gamma$", "LayerNorm.weight", key)
        key = re.sub(r"LayerNorm\.beta$", "LayerNorm.bias", key)
        if bare_encoder and key.split(".")[0] in ("embeddings", "encoder", "pooler"):
            key = "bert." + key
        normalised[key] = tensor
    broken = [key for key, tensor in normalised.items() if tensor.is_floating_point() and not tensor.isfinite().all()]
    if broken:
        raise CheckpointError(
            f"The weights in {str(folder)!r} hold NaN or infinite numbers ({len(broken)} tensors, e.g. {broken[0]}); "
            "the file is damaged or came from a run that diverged. Use another copy of the checkpoint."
        )
    return normalised


def _read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError) as error:
        raise CheckpointError(f"{str(path)!r} is not a readable safetensors file: {error}") from error
