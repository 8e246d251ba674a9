"""Variant scores without labels (``variant_effects(score="likelihood")``) on the embedded model, two checks:

1. **Splice donors** (``splice`` test split, donors whose intron starts with GT at 0-based 30-31): every
   substitution at the GT against every substitution at least 15 nt from the junction. The GT is what every donor
   keeps, so its substitutions should score lower: medians of both, their ratio, and the AUROC of -llr for "at the
   GT" against "far".
2. **1000 Genomes chr22** (``dn.datasets.variants("1000g_chr22")``, hg19 chr22:50.30-51.00 Mb, SNVs): the AUROC of
   the score for common alleles (AF > 5 %) against rare ones (AF < 0.5 %), beside a k-mer-frequency score (the
   summed log frequency on chr22 of the alternative 6-mers over the variant less the reference ones).

Usage: python benchmarks/bench_zero_shot.py [--precision auto] [--model CHECKPOINT]
"""

from __future__ import annotations

import argparse
import gzip
import time
from collections import Counter

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score

import dnabert_nb as dn

BASES = "ACGT"


def splice_donors(model: dn.DNABERTModel, precision: str) -> dict:
    """Every substitution of the test donors with a GT at 30-31: the median llr at the GT and far from it."""
    data = dn.datasets.load("splice")
    donors = data[(data.split == "test") & (data.label == "donor")]
    donors = donors[donors.sequence.str[30:32] == "GT"]
    rows = []
    for name, sequence in zip(donors["id"], donors["sequence"]):
        for position in [*range(0, 16), 30, 31, *range(46, 60)]:
            rows += [(name, sequence, position, sequence[position], b) for b in BASES if b != sequence[position]]
    edits = pd.DataFrame(rows, columns=["id", "sequence", "pos", "ref", "alt"])
    scored = dn.variant_effects(model, edits, score="likelihood", precision=precision, progress=False)
    at_gt = scored[scored.pos.isin([30, 31])]["llr"]
    far = scored[~scored.pos.isin([30, 31])]["llr"]
    labels = np.r_[np.ones(len(at_gt)), np.zeros(len(far))]
    return {
        "donors": len(donors),
        "median llr at the GT": float(at_gt.median()),
        "median llr >= 15 nt away": float(far.median()),
        "ratio of medians": float(at_gt.median() / far.median()),
        "AUROC of -llr, GT against far": roc_auc_score(labels, -np.r_[at_gt, far]),
    }


def allele_frequencies(path) -> dict[tuple[int, str], float]:
    """AF of each (pos, alt) from the VCF's INFO (one value per ALT)."""
    found = {}
    with gzip.open(path, "rt") as lines:
        for line in lines:
            if line.startswith("#"):
                continue
            fields = line.split("\t", 8)
            info = dict(part.split("=", 1) for part in fields[7].split(";") if "=" in part)
            if "AF" in info:
                for alt, value in zip(fields[4].split(","), info["AF"].split(",")):
                    found[(int(fields[1]), alt)] = float(value)
    return found


def kmer_frequency_score(genome: str, calls: pd.DataFrame, k: int = 6) -> np.ndarray:
    """Sum over the k-mers holding each SNV of log frequency (on ``genome``) of the alternative less the reference."""
    counts = Counter(genome[i : i + k] for i in range(len(genome) - k + 1))
    total = sum(counts.values())
    scores = []
    for pos, alt in zip(calls["pos"] - 1, calls["alt"]):
        context = genome[pos - k + 1 : pos + k]
        mutated = context[: k - 1] + alt + context[k:]
        score = sum(
            np.log((counts[mutated[i : i + k]] + 1) / total) - np.log((counts[context[i : i + k]] + 1) / total)
            for i in range(k)
        )
        scores.append(score)
    return np.array(scores)


def common_against_rare(model: dn.DNABERTModel, precision: str) -> dict:
    """AUROC of the llr and of the k-mer-frequency score for common (AF > 5 %) against rare (AF < 0.5 %) SNVs."""
    path = dn.datasets.variants("1000g_chr22")
    calls = dn.io.read_vcf(path)
    frequencies = allele_frequencies(path)
    calls["af"] = [frequencies.get((pos, alt), np.nan) for pos, alt in zip(calls["pos"], calls["alt"])]
    calls = calls[(calls.ref.str.len() == 1) & (calls.alt.str.len() == 1)]
    calls = calls[(calls.af < 0.005) | (calls.af > 0.05)].reset_index(drop=True)
    fasta = dn.datasets.genome_fasta("hg19_chr22")
    scored = dn.variant_effects(
        model, calls, genome=fasta, score="likelihood", on_mismatch="skip", precision=precision, progress=False
    )
    held = scored["ref_matches"].to_numpy()  # the shipped chr22 FASTA is N where its alignment rows leave gaps
    scored, calls = scored[held], calls[held]
    genome = dn.io.Genome(fasta)
    chrom, length = next(iter(genome.lengths.items()))
    text = genome.fetch(chrom, 0, length).upper()
    common = (calls.af > 0.05).to_numpy()
    return {
        "SNVs where the FASTA has no sequence": int((~held).sum()),
        "rare SNVs": int((~common).sum()),
        "common SNVs": int(common.sum()),
        "AUROC llr, common against rare": roc_auc_score(common, scored["llr"]),
        "AUROC k-mer frequency, common against rare": roc_auc_score(common, kmer_frequency_score(text, calls)),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--model", help="a pre-trained checkpoint (default: the embedded model)")
    args = parser.parse_args()
    model = dn.load(args.model)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {model.source}, precision {args.precision}")
    for check in (splice_donors, common_against_rare):
        began = time.perf_counter()
        result = check(model, args.precision)
        print(
            check.__name__,
            {key: round(value, 4) for key, value in result.items()},
            f"{time.perf_counter() - began:.0f} s",
        )


if __name__ == "__main__":
    main()
