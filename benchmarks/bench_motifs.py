"""Real-data motif checks: fine-tune the embedded model on a ChIP-seq peak set (dn.finetune, [CLS] head),
run dn.attention_motifs with its defaults on the test-split peaks (negatives: 10 seeded dinucleotide shuffles
of each), and report where the expected JASPAR factor ranks among the discovered motifs; plus the speed of
attention_motifs on 2,000 peaks (all splits), where a set has that many.

Usage: python benchmarks/bench_motifs.py [--datasets ctcf_peaks oct4_peaks mafk_peaks] [--epochs 3]
"""

from __future__ import annotations

import argparse
import time

import dnabert_nb as dn

EXPECTED = {
    "ctcf_peaks": ("CTCF",),
    "oct4_peaks": ("POU5F1", "Pou5f1::Sox2", "POU5F1B", "SOX2"),
    "mafk_peaks": ("MAFK", "MAFF", "MAFG", "MAF::NFE2", "NFE2L2", "Bach1::Mafk"),
}


SPEED_PEAKS = 2000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(EXPECTED))
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    for name in args.datasets:
        data = dn.datasets.load(name)
        train, valid, test = (data[data.split == s] for s in ("train", "valid", "test"))
        began = time.perf_counter()
        # DNABERT's [CLS] head: the attention motif method reads its row (a mean-pooled head found no motif here)
        model = dn.finetune(dn.load(), train, valid, epochs=args.epochs, pooling="cls", progress=False, live_plot=False)
        tuned = time.perf_counter() - began
        metrics = dn.evaluate(model, test)
        positives = test[test.label == 1]
        began = time.perf_counter()
        result = dn.attention_motifs(model, positives, progress=False)
        found = time.perf_counter() - began
        motifs = result.motifs
        expected = {factor.upper() for factor in EXPECTED[name]}  # JASPAR spells mouse factors Mafg, Pou5f1
        hits = motifs.index[motifs.best_match.astype(str).str.upper().isin(expected)].tolist()
        print(
            f"\n{name}: fine-tuned in {tuned:.0f} s, test MCC {metrics['mcc']:.3f}, AUROC {metrics['auroc']:.3f}; "
            f"attention_motifs on {len(positives)} peaks in {found:.1f} s: "
            f"{len(motifs)} motifs"
        )
        print(
            motifs.head(8)[
                [
                    "id",
                    "consensus",
                    "n_instances",
                    "n_pos",
                    "n_neg",
                    "p_adj",
                    "best_match",
                    "best_match_id",
                    "match_score",
                    "match_p_value",
                ]
            ].to_string(index=False)
        )
        if hits:
            row = motifs.loc[hits[0]]
            print(
                f"expected factor first at rank {hits[0] + 1}: {row.best_match} {row.best_match_id}, "
                f"match score {row.match_score:.2f}, match p {row.match_p_value:.2g}, motif p_adj {row.p_adj:.2g}"
            )
        else:
            print(f"no motif's best match is one of {EXPECTED[name]}")
        for rank, motif_id in enumerate(motifs.id.head(5), start=1):  # the expected factor deeper in the matches
            matches = dn.compare_motifs(result.pfms[motif_id], top=5)
            where = matches.index[matches.name.str.upper().isin(expected)].tolist()
            print(
                f"motif {rank}: top-5 JASPAR matches {', '.join(matches.name)}"
                + (
                    f"; expected factor at match rank {where[0] + 1} (score {matches.score[where[0]]:.2f}, "
                    f"p {matches.p_value[where[0]]:.2g})"
                    if where
                    else ""
                )
            )
        peaks = data[data.label == 1].head(SPEED_PEAKS)
        if len(peaks) == SPEED_PEAKS:
            began = time.perf_counter()
            dn.attention_motifs(model, peaks, progress=False)
            print(
                f"speed: attention_motifs on {SPEED_PEAKS} x {peaks.sequence.str.len().median():.0f} bp peaks vs "
                f"their dinucleotide shuffles: {time.perf_counter() - began:.1f} s"
            )


if __name__ == "__main__":
    main()
