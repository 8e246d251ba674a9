"""Indexed genomes: FASTA (plain or bgzip) read through pysam (htslib), the index built when missing."""

from __future__ import annotations

import os
from pathlib import Path

from ..dna.errors import InputFormatError, MissingDependencyError


def _pysam():
    try:
        import pysam
    except ImportError as error:
        raise MissingDependencyError(
            "Reading genomes and VCF files needs pysam: pip install 'dnabert_nb[variants]'."
        ) from error
    return pysam


class Genome:
    """Random access to the sequences of an indexed FASTA file.

    Parameters
    ----------
    path
        A FASTA file, plain or bgzip-compressed (``.fa.gz`` written by ``bgzip``); its ``.fai`` (and ``.gzi``)
        index is built beside it when missing.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path).expanduser()
        if not self.path.is_file():
            raise InputFormatError(f"Genome FASTA {str(self.path)!r} does not exist.")
        pysam = _pysam()
        try:
            self._fasta = pysam.FastaFile(str(self.path))
        except (OSError, ValueError) as error:
            raise InputFormatError(
                f"{str(self.path)!r} cannot be opened as an indexed FASTA ({error}). It must be plain FASTA or "
                "compressed with bgzip (not gzip), in a folder where its .fai index can be written."
            ) from error
        self.lengths = dict(zip(self._fasta.references, self._fasta.lengths))

    def __repr__(self) -> str:
        return f"Genome({str(self.path)!r}, {len(self.lengths)} sequences)"

    def resolve(self, chrom: str) -> str:
        """The genome's name for ``chrom``, which may differ by a ``chr`` prefix (``22`` and ``chr22`` agree)."""
        for name in (chrom, f"chr{chrom}", chrom.removeprefix("chr")):
            if name in self.lengths:
                return name
        shown = ", ".join(list(self.lengths)[:5])
        raise InputFormatError(f"Chromosome {chrom!r} is not in {str(self.path)!r} (it has {shown}).")

    def fetch(self, chrom: str, start: int, end: int) -> str:
        """Upper-case sequence of ``chrom`` from ``start`` to ``end`` (0-based, end-exclusive), within its ends."""
        chrom = self.resolve(chrom)
        if not 0 <= start < end <= self.lengths[chrom]:
            raise InputFormatError(
                f"{chrom}:{start}-{end} runs off {chrom} (length {self.lengths[chrom]}) in {str(self.path)!r}."
            )
        return self._fasta.fetch(chrom, start, end).upper()


def as_genome(genome: Genome | str | os.PathLike) -> Genome:
    """A :class:`Genome` from itself or a FASTA path."""
    return genome if isinstance(genome, Genome) else Genome(genome)
