"""Writing checkpoint folders safely: whole or not at all, never touching files this package did not write.

A folder is written into a staging folder beside it and moved into place only when complete; a staging folder
left by a killed process is removed by the next write to the same place. Written files get the usual modes
(0666 less the umask), not the private ones of temporary files.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import InputFormatError

#: Every file a checkpoint folder of this package (or an official DNABERT one) may hold.
MODEL_FILES = frozenset(
    {
        "config.json",
        "model.safetensors",
        "model.int8.safetensors",
        "pytorch_model.bin",
        "vocab.txt",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "generation_config.json",
        "training_state.pt",
        "card.json",
    }
)
STAGING = ".staging-"


def _staging_prefix(target: Path) -> str:
    return f".{target.name}{STAGING}"


def remove_stale_staging(target: Path) -> None:
    """Remove staging folders of ``target`` that an interrupted write left behind."""
    prefix = _staging_prefix(target)
    for leftover in target.parent.glob(f"{prefix}*"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)


def foreign_files(folder: Path) -> list[str]:
    """Names in ``folder`` that are not checkpoint files (a user's notes, other results)."""
    return sorted(entry.name for entry in folder.iterdir() if entry.name not in MODEL_FILES)


def _usual_modes(folder: Path) -> None:
    umask = os.umask(0)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)
    for entry in folder.iterdir():
        entry.chmod((0o777 if entry.is_dir() else 0o666) & ~umask)


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield an empty staging folder that replaces the checkpoint files at ``path`` when the block completes.

    A missing ``path`` is made; one that holds only checkpoint files is replaced as a whole. One that holds
    other files too is refused, unless ``overwrite``: then its checkpoint files are replaced one by one and the
    other files are left as they are. On an exception the staging folder is removed and ``path`` is untouched.

    Raises
    ------
    InputFormatError
        ``path`` is a file, or a folder with other files and ``overwrite`` is False.
    """
    target = Path(path).expanduser()
    if target.exists() and not target.is_dir():
        raise InputFormatError(f"{str(target)!r} is a file; save a model into a folder (it is made if missing).")
    others = foreign_files(target) if target.is_dir() else []
    if others and not overwrite:
        raise InputFormatError(
            f"{str(target)!r} holds files that are not part of a model ({', '.join(others[:5])}); saving would mix "
            "them with the model. Save into another (or an empty) folder, or pass overwrite=True to replace only "
            "the model files there."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(target)
    staging = Path(tempfile.mkdtemp(prefix=_staging_prefix(target), dir=target.parent))
    try:
        yield staging
        _usual_modes(staging)
        if others:
            _replace_model_files(staging, target)
        elif target.exists():
            backup = Path(tempfile.mkdtemp(prefix=_staging_prefix(target), dir=target.parent))
            backup.rmdir()
            target.rename(backup)
            staging.rename(target)
            shutil.rmtree(backup)
        else:
            staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _replace_model_files(staging: Path, target: Path) -> None:
    """Move the new checkpoint files into ``target`` one by one; drop its old checkpoint files the new one lacks."""
    for old in target.iterdir():
        if old.name in MODEL_FILES and not (staging / old.name).exists():
            old.unlink()
    for new in staging.iterdir():
        os.replace(new, target / new.name)
