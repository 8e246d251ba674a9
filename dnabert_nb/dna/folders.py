"""Writing results safely: whole or not at all, never touching files this package did not write.

A folder is written into a staging folder beside it, renamed "ready" when complete and only then swapped into
place; the next write to the same place (or a resume) puts the newest complete copy a killed process left back in
place and removes the rest. A file is written beside its target and renamed over it. Written files get the usual
modes (0666 less the umask), not the private ones of temporary files. A folder one process trains into is locked
against a second one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

from filelock import FileLock, Timeout

from .errors import InputFormatError, OutputError

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
        "checksums.sha256",
    }
)
#: The SHA-256 of a saved model's weight files, in ``sha256sum`` format (``sha256sum -c checksums.sha256``).
CHECKSUM_FILE = "checksums.sha256"
STAGING, READY, PREVIOUS = ".staging-", ".ready-", ".previous-"
#: The lock file of a folder a run writes into.
LOCK_FILE = ".dnabert_nb.lock"


def _prefix(target: Path, kind: str) -> str:
    return f".{target.name}{kind}"


def _leftovers(target: Path, kind: str) -> list[Path]:
    """Folders of ``kind`` beside ``target``, the newest last."""
    found = [path for path in target.parent.glob(f"{_prefix(target, kind)}*") if path.is_dir()]
    return sorted(found, key=lambda path: path.stat().st_mtime_ns)


def _sibling(target: Path, kind: str) -> Path:
    """A new, unused name beside ``target`` for a folder of ``kind`` (nothing is made)."""
    path = Path(tempfile.mkdtemp(prefix=_prefix(target, kind), dir=target.parent))
    path.rmdir()
    return path


def recover_interrupted_write(target: Path) -> None:
    """Put back the newest complete copy of ``target`` that a killed write left beside it, and remove the rest.

    A copy renamed "ready" is complete and newer than ``target``; the "previous" copy is the one it was replacing;
    a staging folder may be half-written and is only removed.
    """
    ready, previous = _leftovers(target, READY), _leftovers(target, PREVIOUS)
    if ready:
        if target.exists():
            target.rename(_sibling(target, PREVIOUS))
        ready.pop().rename(target)
    elif previous and not target.exists():
        previous.pop().rename(target)
    for kind in (STAGING, READY, PREVIOUS):
        for leftover in _leftovers(target, kind):
            shutil.rmtree(leftover, ignore_errors=True)


def file_sha256(path: Path) -> str:
    """The SHA-256 of the file at ``path``, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_checksums(folder: Path, names: Sequence[str]) -> None:
    """Write :data:`CHECKSUM_FILE` in ``folder`` for those of ``names`` that are files there."""
    lines = [f"{file_sha256(folder / name)}  {name}\n" for name in names if (folder / name).is_file()]
    (folder / CHECKSUM_FILE).write_text("".join(lines))


def changed_files(folder: Path) -> list[str]:
    """The files in ``folder``'s :data:`CHECKSUM_FILE` whose content no longer has the SHA-256 written there
    (none when there is no such file)."""
    listed = folder / CHECKSUM_FILE
    if not listed.is_file():
        return []
    changed = []
    for line in listed.read_text().splitlines():
        expected, _, name = line.partition("  ")
        if name and (not (folder / name).is_file() or file_sha256(folder / name) != expected):
            changed.append(name)
    return changed


def foreign_files(folder: Path) -> list[str]:
    """Names in ``folder`` that are not checkpoint files (a user's notes, other results)."""
    return sorted(entry.name for entry in folder.iterdir() if entry.name not in MODEL_FILES)


def _umask() -> int:
    """The process's umask (reading it means setting it, so it is set back at once)."""
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _usual_modes(folder: Path) -> None:
    umask = _umask()
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
    recover_interrupted_write(target)
    others = foreign_files(target) if target.is_dir() else []
    if others and not overwrite:
        raise InputFormatError(
            f"{str(target)!r} holds files that are not part of a model ({', '.join(others[:5])}); saving would mix "
            "them with the model. Save into another (or an empty) folder, or pass overwrite=True to replace only "
            "the model files there."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=_prefix(target, STAGING), dir=target.parent))
    try:
        yield staging
        _usual_modes(staging)
        if others:
            _replace_model_files(staging, target)
        else:  # each rename is atomic; a kill between two leaves copies recover_interrupted_write can tell apart
            ready = _sibling(target, READY)
            staging.rename(ready)
            previous = _sibling(target, PREVIOUS)
            if target.exists():
                target.rename(previous)
            ready.rename(target)
            shutil.rmtree(previous, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _replace_model_files(staging: Path, target: Path) -> None:
    """Move the new checkpoint files into ``target`` one by one; drop its old checkpoint files the new one lacks."""
    for old in target.iterdir():
        if old.name in MODEL_FILES and not (staging / old.name).exists():
            old.unlink()
    for new in staging.iterdir():
        os.replace(new, target / new.name)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[TextIO]:
    """Yield a text handle whose content replaces the file at ``path`` when the block completes; on an error
    (a full disk) ``path`` is left as it was and nothing is left beside it.

    Raises
    ------
    InputFormatError
        ``path`` is a folder, or its folder does not exist.
    OutputError
        The file cannot be written there (no permission, a read-only or full disk).
    """
    target = Path(path).expanduser()
    if target.is_dir():
        raise InputFormatError(f"{str(target)!r} is a folder; give the name of the file to write.")
    if not target.parent.is_dir():
        raise InputFormatError(f"The folder of {str(target)!r} does not exist; make it first or write elsewhere.")
    kept = "the file there is unchanged" if target.exists() else "nothing was written"
    try:
        handle = tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=target.parent, prefix=f".{target.name}.", suffix=".partial", delete=False
        )
    except OSError as error:
        raise OutputError(f"{str(target)!r} cannot be written ({error.strerror or error}); {kept}.") from error
    staging = Path(handle.name)
    try:
        with handle:
            yield handle
        staging.chmod(0o666 & ~_umask())
        os.replace(staging, target)
    except OSError as error:
        raise OutputError(f"Writing {str(target)!r} failed ({error.strerror or error}); {kept}.") from error
    finally:
        staging.unlink(missing_ok=True)


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold ``folder``'s lock (made if missing) for the block; another process holding it is an error.

    Raises
    ------
    OutputError
        Another process (e.g. a second notebook) is writing into ``folder``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(folder / LOCK_FILE, timeout=0)
    try:
        lock.acquire()
    except Timeout as error:
        raise OutputError(
            f"{str(folder)!r} is in use by another process that trains into it; wait for it to end, or give "
            "another output_dir."
        ) from error
    try:
        yield
    finally:
        lock.release()
