"""Real peak files from installed Debian packages, for from_peaks examples and benchmarks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ._genome import packaged_files, packaged_path

PEAK_FILES = {
    "gm12878_atac": {
        "package": "ataqv",
        "path": "usr/share/doc/ataqv/examples/testdata/SRR891278.peaks.gz",
        "genome": "hg19",
        "description": "ATAC-seq peaks of GM12878 lymphoblastoid cells (Buenrostro et al. 2013, SRA run SRR891278), "
        "MACS2 broadPeak, 36,743 peaks on hg19 chr1-22 (876 on chr20); ataqv's test data (GPL-3+)",
    },
    "hg19_blacklist": {
        "package": "ataqv",
        "path": "usr/share/doc/ataqv/examples/testdata/exclude.dac.bed.gz",
        "genome": "hg19",
        "description": "ENCODE DAC blacklist of hg19: regions with artefactual signal in every assay, "
        "for from_peaks(exclude=...); ataqv's test data (GPL-3+)",
    },
}


def peak_files() -> pd.DataFrame:
    """The peak and region files :func:`peaks` can find, their Debian package, genome and whether installed here."""
    return packaged_files(PEAK_FILES, "genome")


def peaks(name: str) -> Path:
    """The path of an installed peak (or region) file of :func:`peak_files`, for :func:`from_peaks`.

    Raises
    ------
    MissingGenomeError
        When the package is not installed; the message gives the ``apt-get install`` to run.
    """
    return packaged_path("peak file", name, PEAK_FILES)
