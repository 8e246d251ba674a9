"""VCF files (plain or bgzip) through pysam: one row per variant allele."""

from __future__ import annotations

import os
import re
import warnings

import pandas as pd

from ..core.errors import InputFormatError
from .genome import _pysam
from .text import existing_file

#: Alleles that are sequence: anything else (<DEL>, *, breakends) is a symbolic or structural allele.
_SEQUENCE_ALLELE = re.compile(r"[ACGTNacgtn]+")


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
    if skipped:
        warnings.warn(f"{path.name}: {skipped} symbolic or structural alleles skipped.", UserWarning, stacklevel=2)
    table = pd.DataFrame(rows, columns=["chrom", "pos", "id", "ref", "alt"])
    table.attrs["skipped"] = skipped
    return table
