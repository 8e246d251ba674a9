"""Mutagenesis checked against biology (splice donors) and timed against the naive loop.

1. Biology: fine-tune the embedded model on the shipped ``splice`` data (``dn.finetune`` defaults), take the test
   donors it calls donors, and map them with ``dn.mutagenesis(target="donor")``. The intron starts with GT at
   0-based positions 30-31. Reported: the share of donors for which substituting the G (and the T) lowers the donor
   probability, and the median |change| at those two positions over the median |change| at positions 15 nt or
   more from the junction.
2. Speed: saturation mutagenesis of one 200-nt sequence (600 mutants) with ``dn.mutagenesis`` against the naive
   loop (one ``dn.predict`` call per mutant, plus one for the reference), on the embedded model and on a
   DNABERT-6-size model (random weights); both give the same numbers, which the script checks.

Usage: python benchmarks/bench_mutagenesis.py [--epochs 3] [--length 200] [--skip-biology] [--skip-base]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import torch

import dnabert_nb as dn
from dnabert_nb.testing import official_config, write_checkpoint

GT = (30, 31)


def biology(epochs: int) -> None:
    data = dn.datasets.load("splice")
    train, valid, test = (data[data.split == part] for part in ("train", "valid", "test"))
    began = time.perf_counter()
    model = dn.finetune(dn.load(), train, valid, epochs=epochs, progress=False, live_plot=False)
    scores = dn.evaluate(model, test, progress=False)
    print(
        f"splice: fine-tuned in {time.perf_counter() - began:.0f} s; test accuracy {scores['accuracy']:.3f}, "
        f"MCC {scores['mcc']:.3f}"
    )
    donors = test[test.label == "donor"]
    called = donors[dn.predict(model, donors, progress=False).label.to_numpy() == "donor"]
    called = called[[s[30:32] == "GT" for s in called.sequence]]
    began = time.perf_counter()
    maps = dn.mutagenesis(model, called, target="donor", progress=False)
    print(
        f"{len(called)} of {len(donors)} test donors called donors (with GT at 31-32); "
        f"mutagenesis of all of them in {time.perf_counter() - began:.1f} s"
    )
    lowered = {position: [] for position in GT}
    near, far = [], []  # |change| of every substitution at the GT, and at positions >= 15 nt from the junction
    for ism, sequence in zip(maps, called.sequence):
        changes = ism.to_numpy()
        substituted = np.array([[base != reference for base in "ACGT"] for reference in sequence])
        for position in GT:
            lowered[position].append(bool((changes[position][substituted[position]] < 0).all()))
        distant = np.array([abs(p - 30.5) >= 15 for p in range(len(sequence))])
        near += np.abs(changes[list(GT)][substituted[list(GT)]]).tolist()
        far += np.abs(changes[distant][substituted[distant]]).tolist()
    for position, letter in zip(GT, "GT"):
        print(
            f"  every substitution of the {letter} at position {position + 1} lowers p(donor): "
            f"{np.mean(lowered[position]):.1%} of donors"
        )
    both = np.mean([g and t for g, t in zip(*lowered.values())])
    print(f"  ... of both G and T: {both:.1%}")
    ratio = np.median(near) / np.median(far)
    print(
        f"  median |change| at the GT {np.median(near):.4f}, at positions >= 15 nt away {np.median(far):.4f}: "
        f"ratio {ratio:.1f}x"
    )


def speed(model: dn.DNABERTModel, label: str, length: int) -> None:
    sequence = "".join(np.random.default_rng(0).choice(list("ACGT"), size=length))
    target = model.labels[-1]
    dn.predict(model, sequence, progress=False)  # warm-up
    began = time.perf_counter()
    ism = dn.mutagenesis(model, sequence, target=target, progress=False)
    ours = time.perf_counter() - began
    began = time.perf_counter()
    reference = dn.predict(model, sequence, progress=False)[f"prob_{target}"].iloc[0]
    worst = 0.0
    for position in range(length):
        for base in "ACGT":
            if base != sequence[position]:
                mutant = sequence[:position] + base + sequence[position + 1 :]
                value = dn.predict(model, mutant, progress=False)[f"prob_{target}"].iloc[0] - reference
                worst = max(worst, abs(value - ism.loc[position, base]))
    naive = time.perf_counter() - began
    print(
        f"{label}: {3 * length} mutants of {length} nt: dn.mutagenesis {ours:.1f} s, naive loop {naive:.1f} s, "
        f"ratio {naive / ours:.1f}x (max |difference| {worst:.1e})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--length", type=int, default=200)
    parser.add_argument("--skip-biology", action="store_true")
    parser.add_argument("--skip-base", action="store_true")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    if not args.skip_biology:
        biology(args.epochs)
    data = dn.datasets.load("splice")  # a quick head, only so that the embedded model can predict
    quick = dn.finetune(dn.load(), data[data.split == "valid"], epochs=1, progress=False, live_plot=False)
    speed(quick, f"embedded model ({quick.tokenizer.max_nucleotides}-nt windows)", args.length)
    if not args.skip_base:
        folder = write_checkpoint(tempfile.mkdtemp(), official_config(6), num_labels=2, weights="model.safetensors")
        speed(dn.load(folder), "DNABERT-6 size, random weights", args.length)


if __name__ == "__main__":
    main()
