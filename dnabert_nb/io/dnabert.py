"""DNABERT's own data files (space-separated k-mers) and GUE benchmark task folders."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ..dna.errors import InputFormatError
from .text import existing_file, integers_if_all_are, open_text

#: What the k-mer field of a DNABERT data line holds; a first line with anything else is a header ("sequence", "seq").
KMER_CHARACTERS = frozenset("ACGTUNacgtun ")


def _kmers_to_sequence(kmers: list[str], where: str) -> str:
    """Rebuild a sequence from its overlapping, stride-1 k-mers, checking that they overlap."""
    k = len(kmers[0])
    for index in range(1, len(kmers)):
        if len(kmers[index]) != k or kmers[index][:-1] != kmers[index - 1][1:]:
            raise InputFormatError(
                f"{where}: k-mer {index + 1} ({kmers[index]!r}) does not continue {kmers[index - 1]!r}; "
                "DNABERT files hold overlapping k-mers with stride 1."
            )
    return kmers[0] + "".join(kmer[-1] for kmer in kmers[1:])


def read_dnabert_tsv(path: str | os.PathLike) -> pd.DataFrame:
    """Read a DNABERT data file (``sequence<TAB>label``, sequences as space-separated k-mers; a first line whose
    first field is not k-mers is a header).

    Returns
    -------
    DataFrame
        ``sequence`` (rebuilt nucleotide string) and ``label`` (int where every label is an integer).

    Raises
    ------
    InputFormatError
        A missing file, a line without two tab-separated fields, or k-mers that do not
        overlap; the message names the file and line.
    """
    path = existing_file(path, "DNABERT data file")
    sequences, labels = [], []
    with open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\n\r")
            if not line.strip() or (number == 1 and not set(line.split("\t")[0]) <= KMER_CHARACTERS):
                continue  # a header line: its first field is not k-mers
            fields = line.split("\t")
            if len(fields) != 2 or not fields[0].strip() or not fields[1].strip():
                raise InputFormatError(f"{str(path)!r}, line {number}: expected 'k-mers<TAB>label', got {line[:60]!r}.")
            sequences.append(_kmers_to_sequence(fields[0].split(), f"{str(path)!r}, line {number}"))
            labels.append(fields[1].strip())
    return pd.DataFrame({"sequence": sequences, "label": integers_if_all_are(labels)})


GUE_SPLITS = {"train.csv": "train", "dev.csv": "valid", "test.csv": "test"}


def read_gue(folder: str | os.PathLike) -> pd.DataFrame:
    """Read one GUE task folder (``train.csv``, ``dev.csv``, ``test.csv`` with ``sequence,label``).

    Returns
    -------
    DataFrame
        ``sequence``, ``label``, ``split`` (``"train"``, ``"valid"`` for dev, ``"test"``).

    Raises
    ------
    InputFormatError
        A missing folder or split file, a wrong header, or a malformed line (file and line named).
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise InputFormatError(f"GUE task folder {str(folder)!r} does not exist.")
    missing = [name for name in GUE_SPLITS if not (folder / name).is_file()]
    if missing:
        raise InputFormatError(
            f"{str(folder)!r} has no {', '.join(missing)}; a GUE task folder holds train.csv, dev.csv, test.csv."
        )
    parts = []
    for name, split in GUE_SPLITS.items():
        path = folder / name
        with open_text(path) as handle:
            lines = handle.read().splitlines()
        if not lines or lines[0].strip().replace(" ", "") != "sequence,label":
            raise InputFormatError(f"{str(path)!r}, line 1: expected the header 'sequence,label'.")
        sequences, labels = [], []
        for number, line in enumerate(lines[1:], start=2):
            if not line.strip():
                continue
            sequence, comma, label = line.rpartition(",")
            if not comma or not sequence or not label.strip().lstrip("-").isdigit():
                raise InputFormatError(f"{str(path)!r}, line {number}: expected 'sequence,label', got {line[:60]!r}.")
            sequences.append(sequence.strip())
            labels.append(int(label))
        parts.append(pd.DataFrame({"sequence": sequences, "label": labels, "split": split}))
    return pd.concat(parts, ignore_index=True)
