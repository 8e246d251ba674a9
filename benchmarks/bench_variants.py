"""variant_effects on a real VCF, timed against the naive loop (one ``dn.predict`` call per variant).

The variants are the 1000 Genomes chr22 calls the package ships (``dn.datasets.variants("1000g_chr22")``, the sites
of Bioconductor VariantAnnotation's example VCF), scored against hg19 chr22 (Debian ``maffilter-examples``). Alleles
longer than ``MAX_ALLELE`` are dropped; a REF the genome does not hold (stretches the alignment does not cover) is
kept as a flagged row (``on_mismatch="skip"``), so both sides do the same work on the same rows. The naive loop
builds each variant's two windows the same way and calls ``dn.predict`` once per variant on the pair; the script
checks that both give the same numbers.

Models: the embedded model with a quick splice head, and a DNABERT-6-size model (random weights) on the first
``--base-rows`` rows (at this size a 2-core CPU scores about three windows a second).

Usage: python benchmarks/bench_variants.py [--rows 10000] [--base-rows 200] [--skip-base]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import pandas as pd
import torch

import dnabert_nb as dn
from dnabert_nb.interpret.variants import MAX_ALLELE, variant_windows
from dnabert_nb.testing import official_config, write_checkpoint


def naive_loop(model: dn.DNABERTModel, calls: pd.DataFrame, genome: dn.io.Genome) -> np.ndarray:
    """diff of the last class for each variant whose REF matches, NaN elsewhere; one predict call per variant."""
    target = f"prob_{model.labels[-1]}"
    size = model.tokenizer.max_nucleotides
    diffs = np.full(len(calls), np.nan)
    for row, (chrom, pos, ref, alt) in enumerate(zip(calls.chrom, calls.pos, calls.ref, calls.alt)):
        chrom = genome.resolve(chrom)
        windows = variant_windows(
            lambda s, e, c=chrom: genome.fetch(c, s, e), genome.lengths[chrom], pos - 1, ref, alt, size
        )
        if windows.ref_matches:
            probabilities = dn.predict(model, [windows.reference, windows.alternative], progress=False)[target]
            diffs[row] = probabilities.iloc[1] - probabilities.iloc[0]
    return diffs


def compare(model: dn.DNABERTModel, label: str, calls: pd.DataFrame, genome: dn.io.Genome) -> None:
    dn.predict(model, "ACGT" * 30, progress=False)  # warm-up
    began = time.perf_counter()
    effects = dn.variant_effects(model, calls, genome=genome, on_mismatch="skip", progress=False)
    ours = time.perf_counter() - began
    began = time.perf_counter()
    naive = naive_loop(model, calls, genome)
    slow = time.perf_counter() - began
    ours_diff = effects[f"diff_{model.labels[-1]}"].to_numpy()
    assert np.array_equal(np.isnan(ours_diff), np.isnan(naive)), "the two disagree on which rows were scored"
    worst = np.nanmax(np.abs(ours_diff - naive))
    print(
        f"{label}: {len(calls)} VCF alleles, {int(effects.ref_matches.sum())} scored: "
        f"dn.variant_effects {ours:.1f} s, naive loop {slow:.1f} s, ratio {slow / ours:.1f}x "
        f"(max |difference| {worst:.1e})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--base-rows", type=int, default=200)
    parser.add_argument("--skip-base", action="store_true")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    genome = dn.io.Genome(dn.datasets.genome_fasta("hg19_chr22"))
    calls = dn.io.read_vcf(dn.datasets.variants("1000g_chr22"))
    calls = calls[(calls.ref.str.len() <= MAX_ALLELE) & (calls.alt.str.len() <= MAX_ALLELE)]
    calls = calls.head(args.rows).reset_index(drop=True)
    data = dn.datasets.load("splice")  # a quick head, only so that the embedded model can predict
    quick = dn.finetune(dn.load(), data[data.split == "valid"], epochs=1, progress=False, live_plot=False)
    compare(quick, f"embedded model ({quick.tokenizer.max_nucleotides}-nt windows)", calls, genome)
    if not args.skip_base:
        folder = write_checkpoint(tempfile.mkdtemp(), official_config(6), num_labels=2, weights="model.safetensors")
        compare(dn.load(folder), "DNABERT-6 size, random weights", calls.head(args.base_rows), genome)


if __name__ == "__main__":
    main()
