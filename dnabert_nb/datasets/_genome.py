"""Real genomic sequence from installed Debian packages, as a pre-training corpus (not shipped: too big)."""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from ..dna.errors import DNABERTError, InputFormatError
from ..io.genome import Genome, as_genome

#: Fraction at the end of every genome (by coordinate) held out for validation.
HOLDOUT_FRACTION = 0.05
SEARCH_ROOT = Path("/")


class GenomeRecord(NamedTuple):
    """A stretch of genomic sequence: ``id`` names it with coordinates, ``sequence`` is uppercase."""

    id: str
    sequence: str


class MissingGenomeError(DNABERTError, FileNotFoundError):
    """The Debian package that carries a genome is not installed."""


GENOMES = {
    "hg19_chr22": {
        "package": "maffilter-examples",
        "path": "usr/share/doc/maffilter/examples/Gorilla/"
        "Compara.epo_5_catarrhini_hsap-projected.chr22.subset.nogap.cleaned_aln.maf.gz",
        "format": "maf",
        "maf_row": "Hsap.22",
        "description": "Human chr22 (hg19), the human rows of an Ensembl Compara EPO primate alignment; 21.6 Mb",
    },
    "hg19_chr20": {
        "package": "vt-examples",
        "path": "usr/share/doc/vt/examples/ref/20.fa.gz",
        "format": "fasta",
        "description": "Human chr20 (GRCh37), vt's example reference; 63 Mb",
    },
    "hg19_chrX_part": {
        "package": "smalt-examples",
        "path": "usr/share/doc/smalt/test/data/hs37chrXtrunc.fa.gz",
        "format": "fasta",
        "description": "Human chrX (GRCh37), its first 70 Mb; smalt's test data",
    },
    "dm3_chr2R": {
        "package": "augustus-doc",
        "path": "usr/share/doc/augustus/tutorial/data/chr2R.fa",
        "format": "fasta",
        "description": "Drosophila melanogaster chr2R (dm3), AUGUSTUS's tutorial data; 21.1 Mb",
    },
    "ce2_chrX": {
        "package": "r-bioc-bsgenome",
        "path": "usr/lib/R/site-library/BSgenome/extdata/ce2chrX.fa.gz",
        "format": "fasta",
        "description": "Caenorhabditis elegans chrX (ce2), BSgenome's example; 17.7 Mb",
    },
    "pfalciparum": {
        "package": "smalt-examples",
        "path": "usr/share/doc/smalt/test/data/genome_1.fa.gz",
        "format": "fasta",
        "description": "Plasmodium falciparum, 14 chromosomes (MAL1-14), smalt's test data; 23.3 Mb",
    },
    "ecoli_k12": {
        "package": "ragout-examples",
        "path": "usr/share/doc/ragout/examples/E.Coli/references/MG1655-K12.fasta.gz",
        "format": "fasta",
        "description": "Escherichia coli K-12 MG1655 complete genome; 4.6 Mb",
    },
    "saureus_n315": {
        "package": "ragout-examples",
        "path": "usr/share/doc/ragout/examples/S.Aureus/references/N315.fasta.gz",
        "format": "fasta",
        "description": "Staphylococcus aureus N315 complete genome; 2.8 Mb",
    },
    "vcholerae_o395": {
        "package": "ragout-examples",
        "path": "usr/share/doc/ragout/examples/V.Cholerae/references/O395.fasta.gz",
        "format": "fasta",
        "description": "Vibrio cholerae O395, both chromosomes; 4.1 Mb",
    },
    "dictyostelium": {
        "package": "spaln-data",
        "path": "usr/share/spaln/seqdb/dictdisc_g.gf.gz",
        "format": "fasta",
        "description": "Dictyostelium discoideum AX4 genome (spaln's copy); 34 Mb",
    },
}


def _open_text(path: Path):
    """A text handle on a plain or gzip-compressed file."""
    with open(path, "rb") as probe:
        compressed = probe.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rt") if compressed else open(path, encoding="ascii")


def _fasta_records(path: Path) -> Iterator[GenomeRecord]:
    name, chunks = None, []
    with _open_text(path) as handle:
        for line in handle:
            if line.startswith(">"):
                if name is not None:
                    yield GenomeRecord(name, "".join(chunks).upper())
                name, chunks = line[1:].split()[0], []
            else:
                chunks.append(line.strip())
    if name is not None:
        yield GenomeRecord(name, "".join(chunks).upper())


def _maf_records(path: Path, row: str) -> Iterator[GenomeRecord]:
    """The rows of one species from a MAF, gaps removed, adjacent blocks joined into one record."""
    chromosome = "chr" + row.split(".")[-1]
    start = end = None
    chunks: list[str] = []
    with gzip.open(path, "rt") as handle:
        for line in handle:
            if not line.startswith("s ") or line.split(maxsplit=2)[1] != row:
                continue
            _, _, block_start, size, strand, _, text = line.split()
            block_start, size = int(block_start), int(size)
            if strand != "+":
                raise InputFormatError(f"{path}: a {row} row on the '-' strand; expected reference-projected '+' rows.")
            if chunks and block_start != end:
                yield GenomeRecord(f"{chromosome}:{start}-{end}", "".join(chunks).upper())
                chunks = []
            if not chunks:
                start = block_start
            chunks.append(text.replace("-", ""))
            end = block_start + size
    if chunks:
        yield GenomeRecord(f"{chromosome}:{start}-{end}", "".join(chunks).upper())


def genomes() -> pd.DataFrame:
    """The genomes :func:`genome` can read, their Debian package and whether it is installed here."""
    return packaged_files(GENOMES)


def genome(name: str, *, split: str = "train") -> Iterator[GenomeRecord]:
    """Yield real genomic sequence from an installed Debian package.

    Parameters
    ----------
    name
        One of :func:`genomes`: human (``"hg19_chr22"``, ``"hg19_chr20"``, ``"hg19_chrX_part"``),
        fly (``"dm3_chr2R"``), worm (``"ce2_chrX"``), ``"pfalciparum"``, ``"dictyostelium"`` and
        bacteria (``"ecoli_k12"``, ``"saureus_n315"``, ``"vcholerae_o395"``).
    split
        ``"train"``: all but the last 5% of the genome (by coordinate); ``"valid"``: that
        held-out last 5%; ``"all"``: everything.

    Yields
    ------
    GenomeRecord
        ``(id, sequence)``; uppercase; may contain N. Records are cut at the held-out boundary.

    Raises
    ------
    MissingGenomeError
        When the package is not installed; the message gives the ``apt-get install`` to run.
    """
    if split not in ("train", "valid", "all"):
        raise InputFormatError(f"split = {split!r}; use 'train', 'valid' or 'all'.")
    spec, path = _installed(name)
    return _split_records(_records(spec, path), _total_length(spec, path), split)


def _installed(name: str) -> tuple[dict, Path]:
    return GENOMES[name] if name in GENOMES else {}, packaged_path("genome", name, GENOMES)


def packaged_path(kind: str, name: str, registry: dict) -> Path:
    """The installed path of file ``name`` of ``registry`` (a genome, VCF or peak file from a Debian package).

    Raises
    ------
    InputFormatError
        When ``registry`` has no ``name``.
    MissingGenomeError
        When its package is not installed; the message gives the ``apt-get install`` to run.
    """
    if name not in registry:
        raise InputFormatError(f"No {kind} is called {name!r}; choose one of {', '.join(registry)}.")
    spec = registry[name]
    path = SEARCH_ROOT / spec["path"]
    if not path.is_file():
        raise MissingGenomeError(
            f"The {kind} {name!r} comes from the Debian package {spec['package']!r}, which is not installed "
            f"({path} is missing). Install it with: sudo apt-get install {spec['package']}"
        )
    return path


def packaged_files(registry: dict, *columns: str) -> pd.DataFrame:
    """One row per file of ``registry``: name, package, ``columns`` of its spec, installed, description."""
    rows = [
        {
            "name": name,
            "package": spec["package"],
            **{column: spec[column] for column in columns},
            "installed": (SEARCH_ROOT / spec["path"]).is_file(),
            "description": spec["description"],
        }
        for name, spec in registry.items()
    ]
    return pd.DataFrame(rows)


def cache_folder() -> Path:
    """Where files built from installed packages are kept: ``$DNABERT_NB_CACHE`` or ``~/.cache/dnabert_nb``."""
    return Path(os.environ.get("DNABERT_NB_CACHE", "~/.cache/dnabert_nb")).expanduser()


def genome_fasta(name: str, *, folder: str | os.PathLike | None = None) -> Path:
    """An indexed FASTA of a genome of :func:`genomes`, in its own coordinates, for ``variant_effects(genome=...)``.

    Built once from the installed package into ``folder`` (default :func:`cache_folder`) and reused. A genome
    that comes as alignment rows (``hg19_chr22``) is laid out at its true coordinates, with N where the alignment
    has no rows, so VCF positions of that assembly address it directly.

    Returns
    -------
    Path
        The plain FASTA file.
    """
    spec, path = _installed(name)
    target = Path(folder).expanduser() if folder is not None else cache_folder() / "genomes"
    fasta = target / f"{name}.fa"
    if fasta.is_file():
        return fasta
    target.mkdir(parents=True, exist_ok=True)
    staging = fasta.with_suffix(f".fa.{os.getpid()}.partial")
    with open(staging, "w", encoding="ascii") as handle:
        if spec["format"] == "maf":
            _write_at_coordinates(handle, path, spec["maf_row"])
        else:
            for record in _fasta_records(path):
                handle.write(f">{record.id}\n")
                handle.writelines(record.sequence[i : i + 80] + "\n" for i in range(0, len(record.sequence), 80))
    os.replace(staging, fasta)
    return fasta


def genome_of(genome: object) -> Genome:
    """A :class:`dnabert_nb.io.Genome` from itself, an indexed FASTA path, or a name of :func:`genomes`
    (whose FASTA :func:`genome_fasta` builds once)."""
    return as_genome(genome_fasta(genome) if isinstance(genome, str) and genome in GENOMES else genome)


def _write_at_coordinates(handle, path: Path, row: str) -> None:
    """One chromosome from a MAF's rows of one species: each block at its start, N everywhere else."""
    length = None
    with gzip.open(path, "rt") as maf:
        for line in maf:
            if line.startswith("s ") and line.split(maxsplit=2)[1] == row:
                length = int(line.split()[5])
                break
    sequence = bytearray(b"N" * length)
    for record in _maf_records(path, row):
        start = int(record.id.rsplit(":", 1)[1].split("-")[0])
        sequence[start : start + len(record.sequence)] = record.sequence.encode("ascii")
    handle.write(f">chr{row.split('.')[-1]}\n")
    text = sequence.decode("ascii")
    handle.writelines(text[i : i + 80] + "\n" for i in range(0, len(text), 80))


def _records(spec: dict, path: Path) -> Iterator[GenomeRecord]:
    return _maf_records(path, spec["maf_row"]) if spec["format"] == "maf" else _fasta_records(path)


def _total_length(spec: dict, path: Path) -> int:
    return sum(len(record.sequence) for record in _records(spec, path))


def _split_records(records: Iterator[GenomeRecord], total: int, split: str) -> Iterator[GenomeRecord]:
    boundary = round(total * (1 - HOLDOUT_FRACTION))
    seen = 0
    for record in records:
        begin, finish = seen, seen + len(record.sequence)
        seen = finish
        if split == "all":
            yield record
        elif split == "train" and begin < boundary:
            yield GenomeRecord(record.id, record.sequence[: boundary - begin])
        elif split == "valid" and finish > boundary:
            cut = max(boundary - begin, 0)
            yield GenomeRecord(record.id if cut == 0 else f"{record.id}[{cut}:]", record.sequence[cut:])
