"""Motifs from the default (mean-pooled) head: the ready peaks models, ``attention_motifs`` on their test peaks.

For each ready model of a ChIP-seq peaks task (``dn.models()``), runs ``dn.attention_motifs`` on the test split's
peaks (negatives: its default, 10 seeded dinucleotide shuffles of each) once per evidence in ``--evidence``
(``attention``: the mean of the k-mer query rows of the last layer; ``contributions``: the positive part of
``token_contributions`` toward the peak class) and motif method in ``--methods`` (``dnabert``: exact repeats
of high-scoring regions; ``seqlets``: best-scoring stretches grouped by enriched k-mers), and reports the motifs
found, the best JASPAR matches of the top three, and whether the known factor is among them.

Usage: python benchmarks/bench_default_head_motifs.py [--models mini6-ctcf mini6-oct4 mini6-mafk]
       [--evidence attention contributions] [--methods dnabert seqlets] [--pval 0.005]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import dnabert_nb as dn

#: The JASPAR names that count as the known factor (JASPAR spells mouse factors Mafg, Pou5f1).
EXPECTED = {
    "ctcf_peaks": ("CTCF", "CTCFL"),
    "oct4_peaks": ("POU5F1", "POU5F1::SOX2", "POU5F1B", "SOX2", "POU2F1", "POU2F1::SOX2", "POU2F2", "POU3F1"),
    "mafk_peaks": ("MAF", "MAFK", "MAFF", "MAFG", "MAF::NFE2", "NFE2L2", "BACH1::MAFK", "MAFA", "MAFB", "NFE2"),
}
TOP = 3
#: For CTCF peaks: how often each evidence puts the best CTCF match (JASPAR MA0139.2) among a peak's top windows.
SITE_MATRIX, TOP_SHARE = "MA0139.2", 0.05


def site_rank_shares(model: dn.DNABERTModel, peaks: list[str], target: str) -> dict[str, float]:
    """Share of ``peaks`` whose best CTCF site is among the top :data:`TOP_SHARE` of their site-wide windows, by
    the sum of each evidence over the window."""
    from dnabert_nb.dna.alphabet import reverse_complement
    from dnabert_nb.dna.pfm import log_odds

    odds = log_odds(dn.datasets.jaspar()[SITE_MATRIX]).to_numpy()
    width, index = len(odds), {base: i for i, base in enumerate("ACGT")}

    def site(sequence: str) -> int:
        def score(text: str) -> float:
            return sum(odds[j, index[base]] for j, base in enumerate(text) if base in index)

        windows = [sequence[i : i + width] for i in range(len(sequence) - width + 1)]
        return int(np.argmax([max(score(w), score(reverse_complement(w))) for w in windows]))

    evidence = {
        "attention": dn.attention_scores(model, peaks, progress=False),
        "contributions": dn.token_contributions(model, peaks, target=target, progress=False),
    }
    shares = {}
    for name, scores in evidence.items():
        on_top = []
        for sequence, score in zip(peaks, scores):
            sums = np.convolve(np.clip(score, 0, None), np.ones(width), "valid")
            on_top.append((sums > sums[site(sequence)]).mean() < TOP_SHARE)
        shares[name] = float(np.mean(on_top))
    return shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["mini6-ctcf", "mini6-oct4", "mini6-mafk"])
    parser.add_argument("--evidence", nargs="+", default=["attention", "contributions"])
    parser.add_argument("--methods", nargs="+", default=["dnabert", "seqlets"], help="attention_motifs' method")
    parser.add_argument("--pval", type=float, default=0.005, help="attention_motifs' pval_cutoff")
    parser.add_argument("--peaks", type=int, default=None, help="at most this many test peaks (default: all)")
    args = parser.parse_args()
    for name in args.models:
        card = dn.model_card(name)
        model = dn.load(name)
        data = dn.datasets.load(card["dataset"])
        positives = data[(data.split == "test") & (data.label.astype(str) == "1")]
        if args.peaks:
            positives = positives.head(args.peaks)
        expected = {factor.upper() for factor in EXPECTED[card["dataset"]]}
        if card["dataset"] == "ctcf_peaks":
            shares = site_rank_shares(model, list(positives["sequence"]), card["focus"])
            print(
                f"{name} | share of {len(positives)} test peaks whose best CTCF site is in their top "
                f"{TOP_SHARE:.0%} of windows: " + ", ".join(f"{k} {v:.2f}" for k, v in shares.items())
            )
        for evidence, method in [(e, m) for e in args.evidence for m in args.methods]:
            began = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # the mean-head note: measured here, not advice
                result = dn.attention_motifs(
                    model,
                    positives,
                    scores_from=evidence,
                    method=method,
                    pval_cutoff=args.pval,
                    target=card["focus"],
                    progress=False,
                )
            seconds = time.perf_counter() - began
            motifs = result.motifs
            top = motifs.head(TOP)["best_match"].astype(str).tolist()
            found = any(match.upper() in expected for match in top)
            first = next((i + 1 for i, m in enumerate(motifs["best_match"].astype(str)) if m.upper() in expected), None)
            print(
                f"{name} | {evidence} | {method} | {len(positives)} peaks | {len(motifs)} motifs | "
                f"top {TOP}: {', '.join(top)} | "
                f"known factor in top {TOP}: {'yes' if found else 'no'} (first at rank {first}) | {seconds:.0f} s"
            )


if __name__ == "__main__":
    main()
