"""Real, offline datasets: labelled sequence tasks and JASPAR matrices shipped with the package,
genomic sequence from installed Debian packages for pre-training, and training sets built from your own peaks.

>>> import dnabert_nb as dn
>>> dn.datasets.list()
>>> df = dn.datasets.load("splice")
>>> dn.datasets.info("splice")["citation"]
"""

from ._from_peaks import balance, from_peaks
from ._genome import GenomeRecord, MissingGenomeError, cache_folder, genome, genome_fasta, genomes
from ._peak_files import peak_files, peaks
from ._shipped import info, jaspar, jaspar_info, list, load
from ._variants import variant_files, variants

__all__ = [
    "GenomeRecord",
    "MissingGenomeError",
    "balance",
    "cache_folder",
    "from_peaks",
    "genome",
    "genome_fasta",
    "genomes",
    "info",
    "jaspar",
    "jaspar_info",
    "list",
    "load",
    "peak_files",
    "peaks",
    "variant_files",
    "variants",
]
