"""VCF files (plain, gzip or bgzip) through pysam: one row per variant allele."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import tempfile
import warnings
from pathlib import Path

import pandas as pd

from ..dna.errors import InputFormatError
from .genome import _pysam
from .text import existing_file

#: Alleles that are sequence: anything else (<DEL>, *, breakends) is a symbolic or structural allele.
_SEQUENCE_ALLELE = re.compile(r"[ACGTNacgtn]+")
#: A gzip member with htslib's BGZF extra field ("BC") starts with these bytes; plain gzip does not.
_BGZF_START = b"\x1f\x8b\x08\x04"


def _plain_gzip(path: Path) -> bool:
    """Whether ``path`` is gzip but not BGZF, which htslib cannot open (it wants to seek)."""
    with open(path, "rb") as handle:
        start = handle.read(4)
    return start[:2] == b"\x1f\x8b" and start != _BGZF_START


def read_vcf(path: str | os.PathLike) -> pd.DataFrame:
    """Read a VCF file into one row per variant allele (a multi-allelic record gives one row per ALT).

    Symbolic and structural alleles (``<DEL>``, ``*``, breakends) are skipped; their number is warned about and
    kept in ``attrs["skipped"]``.

    Returns
    -------
    DataFrame
        ``chrom``, ``pos`` (1-based, as in the VCF), ``id`` (None where ``.``), ``ref``, ``alt``.
    """
    path = existing_file(path, "VCF file")
    if _plain_gzip(path):
        with tempfile.TemporaryDirectory() as folder:
            plain = Path(folder) / path.name.removesuffix(".gz")
            try:
                with gzip.open(path) as source, open(plain, "wb") as target:
                    shutil.copyfileobj(source, target)
            except (OSError, EOFError) as error:
                raise InputFormatError(f"{str(path)!r} is not a readable gzip file ({error}).") from error
            table = _read_records(plain)
    else:
        table = _read_records(path)
    if table.attrs["skipped"]:
        warnings.warn(
            f"{path.name}: {table.attrs['skipped']} symbolic or structural alleles skipped.", UserWarning, stacklevel=2
        )
    return table


def _read_records(path: Path) -> pd.DataFrame:
    """The sequence alleles of a plain or bgzip VCF, with the number of others in ``attrs["skipped"]``."""
    pysam = _pysam()
    rows, skipped = [], 0
    try:
        with pysam.VariantFile(str(path)) as vcf:
            for record in vcf:
                for alt in record.alts or ():
                    if _SEQUENCE_ALLELE.fullmatch(alt) and _SEQUENCE_ALLELE.fullmatch(record.ref):
                        rows.append((record.chrom, record.pos, record.id, record.ref.upper(), alt.upper()))
                    else:
                        skipped += 1
    except (OSError, ValueError) as error:
        raise InputFormatError(f"{str(path)!r} is not a readable VCF file ({error}).") from error
    table = pd.DataFrame(rows, columns=["chrom", "pos", "id", "ref", "alt"])
    table.attrs["skipped"] = skipped
    return table
