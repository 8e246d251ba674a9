"""Readers: FASTA, labelled FASTA, DNABERT .tsv, GUE task folders; and the coercion of every accepted form of
sequences or labelled data. Writers: genome-browser tracks (bedGraph, BED) and motif files (JASPAR, MEME, TRANSFAC).

>>> import dnabert_nb as dn
>>> dn.io.read_fasta("promoters.fa")            # DataFrame: id, description, sequence
>>> dn.io.read_gue("../shared/gue/prom_core_all")  # DataFrame: sequence, label, split
"""

from .dnabert import read_dnabert_tsv, read_gue
from .fasta import read_fasta, read_labelled_fasta
from .genome import Genome
from .labelled import read_labelled_csv
from .motifs import write_motifs
from .peaks import read_peaks
from .tracks import write_bed, write_bedgraph
from .vcf import read_vcf

__all__ = [
    "Genome",
    "read_dnabert_tsv",
    "read_fasta",
    "read_gue",
    "read_labelled_csv",
    "read_labelled_fasta",
    "read_peaks",
    "read_vcf",
    "write_bed",
    "write_bedgraph",
    "write_motifs",
]
