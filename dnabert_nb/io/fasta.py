"""FASTA files: plain records, and records whose headers carry ``label=VALUE``."""

from __future__ import annotations

import gzip
import os

import pandas as pd

from ..dna.errors import InputFormatError
from .text import existing_file, integers_if_all_are, open_text

FASTA_SUFFIXES = (".fa", ".fasta", ".fna", ".fas", ".fa.gz", ".fasta.gz", ".fna.gz", ".fas.gz")


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
    path = existing_file(path, "FASTA file")
    ids, descriptions, sequences = [], [], []
    chunks: list[str] = []
    try:
        with open_text(path) as handle:
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
                            f"{str(path)!r}, line {number}: sequence before the first '>' header; is this a FASTA file?"
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
        found = [word[len("label=") :] for word in description.split() if word.startswith("label=")]
        if not found or not found[0]:
            raise InputFormatError(
                f"{str(path)!r}: record {name!r} has no 'label=VALUE' in its header; write headers as "
                "'>name label=VALUE', or pass one FASTA file per class as {label: path}."
            )
        labels.append(found[0])
    return pd.DataFrame({"id": table["id"], "sequence": table["sequence"], "label": integers_if_all_are(labels)})
