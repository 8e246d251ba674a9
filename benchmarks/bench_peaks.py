"""Your own peaks, end to end: GM12878 ATAC-seq peaks on hg19 chr20 -> from_peaks -> finetune -> evaluate, motifs, scan.

Data: ``dn.datasets.peaks("gm12878_atac")`` and ``peaks("hg19_blacklist")`` (Debian ``ataqv``), the genome
``dn.datasets.genome_fasta("hg19_chr20")`` (Debian ``vt-examples``).

Reported:
- the training set: windows per split and label, GC of peaks and background;
- test MCC / AUROC of the fine-tuned model and of ``dn.baseline``, each trained once with the GC-matched background
  and once with dinucleotide shuffles, against both backgrounds of the same test peaks;
- the motifs of ``dn.attention_motifs`` on all peaks against all background windows, and their best JASPAR matches;
- ``dn.scan`` throughput (nucleotides per second) beside a loop of one ``dn.predict`` call per window on the
  same windows, and what a whole chromosome would take.

Usage: python benchmarks/bench_peaks.py [--epochs 3] [--scan-length 200000] [--seed 0] [--width 131]
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

import dnabert_nb as dn

CHROMOSOME_LENGTHS = {"chr20": 63_025_520, "chr1": 249_250_621}  # hg19


def scores(model, baseline, test) -> dict[str, float]:
    tuned, base = dn.evaluate(model, test, progress=False), baseline.evaluate(test)
    return {
        "model_mcc": tuned["mcc"],
        "model_auroc": tuned["auroc"],
        "kmer_mcc": base["mcc"],
        "kmer_auroc": base["auroc"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--scan-length", type=int, default=200_000)
    parser.add_argument("--naive-windows", type=int, default=300, help="windows of the one-call-per-window loop")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--width", type=int, help="window length (default: one input of the embedded model)")
    args = parser.parse_args()
    width = args.width or dn.load().tokenizer.max_nucleotides
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    peak_file, genome = dn.datasets.peaks("gm12878_atac"), dn.io.Genome(dn.datasets.genome_fasta("hg19_chr20"))
    exclude = dn.datasets.peaks("hg19_blacklist")
    table = dn.datasets.from_peaks(peak_file, genome, width=width, exclude=exclude, seed=args.seed)
    shuffled = dn.datasets.from_peaks(peak_file, genome, width=width, background="shuffle", seed=args.seed)
    print("training set (GC-matched background):\n" + table.attrs["summary"].to_string(index=False))
    train, valid, test = (table[table.split == part] for part in ("train", "valid", "test"))
    began = time.perf_counter()
    tuned = {"epochs": args.epochs, "seed": args.seed, "pooling": "cls", "progress": False, "live_plot": False}
    model = dn.finetune(dn.load(), train, valid, **tuned)  # [CLS] head: the attention motifs read its row
    print(f"fine-tuning: {time.perf_counter() - began:.0f} s")
    baseline = dn.baseline(train, valid)
    shuffled_test = shuffled[shuffled.split == "test"]
    assert set(shuffled_test.loc[shuffled_test.label == 1, "name"]) == set(test.loc[test.label == 1, "name"])
    for name, part in (("GC-matched background", test), ("dinucleotide shuffles", shuffled_test)):
        print(
            f"trained on GC-matched, test vs {name}: "
            + ", ".join(f"{k} {v:.3f}" for k, v in scores(model, baseline, part).items())
        )
    s_train, s_valid = (shuffled[shuffled.split == part] for part in ("train", "valid"))
    on_shuffles = dn.finetune(dn.load(), s_train, s_valid, **tuned)
    shuffle_baseline = dn.baseline(s_train, s_valid)
    for name, part in (("GC-matched background", test), ("dinucleotide shuffles", shuffled_test)):
        print(
            f"trained on shuffles, test vs {name}: "
            + ", ".join(f"{k} {v:.3f}" for k, v in scores(on_shuffles, shuffle_baseline, part).items())
        )

    # motif discovery reads every peak and background window (discovery, not evaluation)
    result = dn.attention_motifs(model, table[table.label == 1], table[table.label == 0], progress=False)
    print(f"motifs: {len(result.motifs)}")
    for motif_id in result.motifs.id.head(5):
        match = dn.compare_motifs(result.pfms[motif_id], top=1).iloc[0]
        consensus = result.motifs.set_index("id").at[motif_id, "consensus"]
        print(f"  {motif_id} {consensus}: best JASPAR {match['name']} ({match['id']}), p {match['p_value']:.2g}")

    centre = int(test.loc[test.label == 1, "start"].median())
    region = ("chr20", centre - args.scan_length // 2, centre + args.scan_length // 2)
    began = time.perf_counter()
    track = dn.scan(model, genome, region=region, progress=False)
    seconds = time.perf_counter() - began
    per_nt = seconds / args.scan_length
    print(
        f"scan: {args.scan_length:,} nt, {len(track)} windows of {track.attrs['width']} nt every {track.attrs['step']} "
        f"nt in {seconds:.1f} s = {1 / per_nt:,.0f} nt/s"
    )
    for chrom, length in CHROMOSOME_LENGTHS.items():
        print(f"  a whole {chrom} ({length / 1e6:.0f} Mb) at this rate: {length * per_nt / 3600:.1f} h")
    windows = [
        genome.fetch("chr20", s, e) for s, e in track[["window_start", "window_end"]].head(args.naive_windows).values
    ]
    began = time.perf_counter()
    naive = [dn.predict(model, [window], progress=False)["prob_1"].iloc[0] for window in windows]
    naive_seconds = time.perf_counter() - began
    np.testing.assert_allclose(naive, track["prob_1"].head(len(windows)), rtol=1e-4, atol=1e-5)
    naive_per_window, scan_per_window = naive_seconds / len(windows), seconds / len(track)
    print(
        f"one predict call per window ({len(windows)} windows): {naive_per_window * 1e3:.1f} ms per window; "
        f"scan: {scan_per_window * 1e3:.1f} ms per window; ratio {naive_per_window / scan_per_window:.1f}x"
    )


if __name__ == "__main__":
    main()
