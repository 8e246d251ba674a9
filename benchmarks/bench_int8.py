"""What ``precision="int8"`` changes, against fp32 in the same run: speed, calls, probabilities, maps, variant effects.

For every ready model (``dn.models()``) on its task's whole test split: ``dn.predict`` in fp32 and in int8 (each
timed twice, alternating, the faster run kept), the argmax agreement, the largest and mean change of a class
probability, and the test MCC of each. On splice donors: the Spearman and Pearson correlation of int8 and fp32
mutagenesis maps (``target="donor"``), beside bf16's for reference. On the 1000 Genomes chr22 calls shipped with the
package: the correlation of bf16's and int8's ``variant_effects`` with fp32's (needs the hg19 chr22 sequence of the
Debian package ``maffilter-examples``; skipped without it).

Usage: python benchmarks/bench_int8.py [--donors 20] [--variants 300] [--models mini6-splice ...]
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings

import numpy as np
import torch
from scipy.stats import pearsonr, spearmanr

import dnabert_nb as dn
from dnabert_nb.core.ready import named_classes


def timed_predict(model: dn.DNABERTModel, sequences, precision: str) -> tuple[np.ndarray, float]:
    """Class probabilities in ``precision`` and the seconds the call took."""
    started = time.perf_counter()
    table = dn.predict(model, sequences, precision=precision, progress=False)
    seconds = time.perf_counter() - started
    return table[[f"prob_{name}" for name in model.labels]].to_numpy(), seconds


def compare_task(name: str) -> dict:
    """fp32 against int8 on the test split of the ready model ``name``."""
    card = dn.model_card(name)
    model = dn.load(name, precision="fp32")
    data = dn.datasets.load(card["dataset"])
    test = named_classes(data[data.split == "test"], card)
    dn.predict(model, test.iloc[:64], precision="int8", progress=False)  # builds the int8 copy once
    runs = {"fp32": [], "int8": []}
    for _ in range(2):
        for precision in runs:
            runs[precision].append(timed_predict(model, test, precision))
    (exact, _), (quantised, _) = runs["fp32"][0], runs["int8"][0]
    seconds = {precision: min(run[1] for run in found) for precision, found in runs.items()}
    change = np.abs(exact - quantised)
    return {
        "model": name,
        "rows": len(test),
        "speed": seconds["fp32"] / seconds["int8"],
        "agreement": float((exact.argmax(1) == quantised.argmax(1)).mean()),
        "max_dp": float(change.max()),
        "mean_dp": float(change.mean()),
        "mcc_fp32": dn.evaluate(model, test, precision="fp32", progress=False)["mcc"],
        "mcc_int8": dn.evaluate(model, test, precision="int8", progress=False)["mcc"],
    }


def map_correlations(n_donors: int) -> dict[str, tuple[float, float]]:
    """Mean Spearman and Pearson correlation with fp32 of donor mutagenesis maps, in bf16 and in int8."""
    model = dn.load("mini6-splice", precision="fp32")
    data = dn.datasets.load("splice")
    donors = data[(data.split == "test") & (data.label == "donor")].sequence.iloc[:n_donors].tolist()

    def maps(precision: str) -> list[np.ndarray]:
        return [
            dn.mutagenesis(model, donor, target="donor", precision=precision, progress=False).to_numpy().ravel()
            for donor in donors
        ]

    exact = maps("fp32")
    found = {}
    for precision in ("bf16", "int8"):
        other = maps(precision)
        found[precision] = (
            float(np.mean([spearmanr(a, b).statistic for a, b in zip(exact, other)])),
            float(np.mean([pearsonr(a, b).statistic for a, b in zip(exact, other)])),
        )
    return found


def variant_correlations(n_variants: int) -> tuple[int, float, dict[str, tuple[float, float, int]]] | None:
    """Donor effects of chr22 calls in fp32, bf16 and int8: (variants scored, the largest fp32 effect, per lower
    precision its Pearson and Spearman correlation with fp32 and how many of fp32's 20 largest effects are among
    its own 20 largest); None without the genome."""
    try:
        genome = dn.io.Genome(dn.datasets.genome_fasta("hg19_chr22"))
    except dn.datasets.MissingGenomeError as missing:
        print(f"variant effects skipped: {missing}")
        return None
    model = dn.load("mini6-splice", precision="fp32")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        calls = dn.io.read_vcf(dn.datasets.variants("1000g_chr22"))
    half = model.tokenizer.max_nucleotides // 2
    covered = [
        "N" not in genome.fetch(chrom, max(0, pos - half), pos + half) for chrom, pos in zip(calls.chrom, calls.pos)
    ]
    chosen = calls[covered].head(n_variants)
    effects = {
        precision: dn.variant_effects(
            model, chosen, genome=genome, precision=precision, progress=False
        ).diff_donor.to_numpy()
        for precision in ("fp32", "bf16", "int8")
    }
    exact = effects.pop("fp32")
    largest = set(np.argsort(-np.abs(exact))[:20])
    found = {
        precision: (
            float(pearsonr(exact, other).statistic),
            float(spearmanr(exact, other).statistic),
            len(largest & set(np.argsort(-np.abs(other))[:20])),
        )
        for precision, other in effects.items()
    }
    return len(chosen), float(np.abs(exact).max()), found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=None, help="ready models (default: every one)")
    parser.add_argument("--donors", type=int, default=20)
    parser.add_argument("--variants", type=int, default=300)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")
    print(
        "\n| model | test rows | int8 speed vs fp32 | argmax agreement | max abs dp | mean abs dp "
        "| MCC fp32 | MCC int8 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name in args.models or dn.models().name.tolist():
        row = compare_task(name)
        print(
            f"| `{row['model']}` | {row['rows']:,} | {row['speed']:.2f}x | {row['agreement']:.4f} | "
            f"{row['max_dp']:.3f} | {row['mean_dp']:.4f} | {row['mcc_fp32']:.3f} | {row['mcc_int8']:.3f} |",
            flush=True,
        )
    found = map_correlations(args.donors)
    print(f"\nmutagenesis maps of {args.donors} splice donors (target donor), correlation with fp32:")
    for precision, (spearman, pearson) in found.items():
        print(f"  {precision}: Spearman {spearman:.3f}, Pearson {pearson:.4f}")
    variants = variant_correlations(args.variants)
    if variants is not None:
        n, largest, found = variants
        print(
            f"\nvariant_effects of {n} chr22 calls (diff_donor; the largest fp32 effect {largest:.4f}), against fp32:"
        )
        for precision, (pearson, spearman, shared) in found.items():
            print(f"  {precision}: Pearson {pearson:.3f}, Spearman {spearman:.3f}, {shared} of the 20 largest shared")


if __name__ == "__main__":
    main()
