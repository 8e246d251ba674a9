"""Readers and input coercion: every accepted form of "some sequences" becomes ids + strings."""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Iterable, NamedTuple, Union

import pandas as pd

from ._errors import InputFormatError

FASTA_SUFFIXES = (".fa", ".fasta", ".fna", ".fas", ".fa.gz", ".fasta.gz", ".fna.gz", ".fas.gz")
SequencesLike = Union[str, os.PathLike, Iterable[str], pd.Series, pd.DataFrame]


class SequenceTable(NamedTuple):
    """Sequences with their ids, as every public function receives them."""

    ids: list
    sequences: list


def _open_text(path: Path):
    """Open a plain or gzip-compressed text file."""
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def read_fasta(path: str | os.PathLike) -> pd.DataFrame:
    """Read a FASTA file (plain or ``.gz``) into a DataFrame.

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    DataFrame
        Columns ``id`` (first word of the header), ``description`` (the rest of the
        header) and ``sequence`` (record lines joined, whitespace removed, case kept).

    Raises
    ------
    InputFormatError
        Missing file, sequence before the first header, an empty header, or no records;
        the message names the file and line.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputFormatError(f"FASTA file {str(path)!r} does not exist.")
    ids, descriptions, sequences = [], [], []
    chunks: list[str] = []
    try:
        with _open_text(path) as handle:
            for number, line in enumerate(handle, start=1):
                if line.startswith(">"):
                    if ids:
                        sequences.append("".join(chunks))
                    header = line[1:].strip()
                    if not header:
                        raise InputFormatError(f"{str(path)!r}, line {number}: the header '>' has no name.")
                    name, _, description = header.partition(" ")
                    ids.append(name)
                    descriptions.append(description.strip())
                    chunks = []
                elif line.strip():
                    if not ids:
                        raise InputFormatError(
                            f"{str(path)!r}, line {number}: sequence before the first '>' header; "
                            "is this a FASTA file?"
                        )
                    chunks.append("".join(line.split()))
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError) as error:
        raise InputFormatError(f"{str(path)!r} is not a readable text FASTA file: {error}") from error
    if not ids:
        raise InputFormatError(f"{str(path)!r} holds no FASTA records (no line starts with '>').")
    sequences.append("".join(chunks))
    return pd.DataFrame({"id": ids, "description": descriptions, "sequence": sequences})


def read_labelled_fasta(path: str | os.PathLike) -> pd.DataFrame:
    """Read a FASTA file whose headers carry labels as ``label=VALUE`` (``>seq1 label=promoter``).

    Returns
    -------
    DataFrame
        ``id``, ``sequence`` and ``label`` (int where every label is an integer).

    Raises
    ------
    InputFormatError
        A record without ``label=``; the message names the record.
    """
    table = read_fasta(path)
    labels = []
    for name, description in zip(table["id"], table["description"]):
        found = [word[len("label="):] for word in description.split() if word.startswith("label=")]
        if not found or not found[0]:
            raise InputFormatError(
                f"{str(path)!r}: record {name!r} has no 'label=VALUE' in its header; write headers as "
                "'>name label=VALUE', or pass one FASTA file per class as {label: path}."
            )
        labels.append(found[0])
    return pd.DataFrame({"id": table["id"], "sequence": table["sequence"], "label": _as_integers_if_all_are(labels)})


def _as_integers_if_all_are(labels: list[str]) -> pd.Series:
    """Text labels as ints where every one is an integer, else as they are."""
    series = pd.Series(labels, dtype=object)
    return series.astype(int) if series.str.fullmatch(r"-?\d+").all() else series


def _looks_like_path(text: str) -> bool:
    return text.lower().endswith(FASTA_SUFFIXES) or os.sep in text or "/" in text


def as_sequence_table(sequences: SequencesLike) -> SequenceTable:
    """Bring any accepted form of sequences into ids + strings.

    Accepted: one sequence (``str``), a FASTA path (``str`` ending in .fa/.fasta/.fna
    [.gz] or any ``os.PathLike``), a list/tuple of ``str``, a pandas Series (its index
    gives the ids) or a DataFrame with a ``sequence`` column (ids from an ``id`` column,
    else the index).
    """
    table = _sequence_table(sequences)
    if not table.sequences:
        raise InputFormatError("No sequences were given (the list, Series or DataFrame is empty).")
    return table


def _sequence_table(sequences: SequencesLike) -> SequenceTable:
    if isinstance(sequences, os.PathLike) or (isinstance(sequences, str) and _looks_like_path(sequences)):
        table = read_fasta(sequences)
        return SequenceTable(table["id"].tolist(), table["sequence"].tolist())
    if isinstance(sequences, str):
        return SequenceTable([0], [sequences])
    if isinstance(sequences, pd.DataFrame):
        if "sequence" not in sequences.columns:
            raise InputFormatError(
                f"The DataFrame has no 'sequence' column (columns: {list(sequences.columns)}); "
                "rename the column that holds the nucleotides to 'sequence'."
            )
        ids = sequences["id"].tolist() if "id" in sequences.columns else sequences.index.tolist()
        return SequenceTable(ids, sequences["sequence"].tolist())
    if isinstance(sequences, pd.Series):
        return SequenceTable(sequences.index.tolist(), sequences.tolist())
    if isinstance(sequences, (list, tuple)):
        return SequenceTable(list(range(len(sequences))), list(sequences))
    raise InputFormatError(
        f"Cannot read sequences from a value of type {type(sequences).__name__}; pass a str, a list of str, a pandas "
        "Series, a DataFrame with a 'sequence' column, or a FASTA file path."
    )


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
    """Read a DNABERT data file (``sequence<TAB>label``, sequences as space-separated k-mers).

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
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputFormatError(f"DNABERT data file {str(path)!r} does not exist.")
    sequences, labels = [], []
    with _open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\n\r")
            if not line.strip() or (number == 1 and line.split("\t")[0].strip().lower() == "sequence"):
                continue
            fields = line.split("\t")
            if len(fields) != 2 or not fields[0].strip() or not fields[1].strip():
                raise InputFormatError(
                    f"{str(path)!r}, line {number}: expected 'k-mers<TAB>label', got {line[:60]!r}."
                )
            sequences.append(_kmers_to_sequence(fields[0].split(), f"{str(path)!r}, line {number}"))
            labels.append(fields[1].strip())
    return pd.DataFrame({"sequence": sequences, "label": _as_integers_if_all_are(labels)})


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
        with open(path, encoding="utf-8") as handle:
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
