"""Mutagenesis of CTCF peaks checked against the JASPAR CTCF matrix.

Fine-tune the embedded model on the shipped ``ctcf_peaks`` (``dn.finetune`` defaults), map the test peaks it calls
peaks with ``dn.mutagenesis(target="1")``, and find the best match of JASPAR CTCF (MA0139.2) in each peak on either
strand. Reported:

* the importance (minus the mean change of p(peak) over the three substitutions) inside the matches over the
  importance outside them;
* the Spearman correlation, over every substitution inside a match, between the model's change of p(peak) and the
  change of the match's PWM log-odds score.

Usage: python benchmarks/bench_ctcf_mutagenesis.py [--epochs 3] [--peaks 20] [--min-score 10]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.stats import spearmanr

import dnabert_nb as dn
from dnabert_nb.dna.pfm import BASES, log_odds, reverse_complement


def best_site(sequence: str, pwm: np.ndarray) -> tuple[int, np.ndarray, float]:
    """Start, oriented PWM (as read on the forward strand) and score of the best match on either strand."""
    width = len(pwm)
    best = (0, pwm, -np.inf)
    for oriented in (pwm, reverse_complement(pwm)):
        for start in range(len(sequence) - width + 1):
            window = sequence[start : start + width]
            if set(window) <= set(BASES):
                score = sum(oriented[i, BASES.index(base)] for i, base in enumerate(window))
                if score > best[2]:
                    best = (start, oriented, score)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--peaks", type=int, default=20)
    parser.add_argument("--min-score", type=float, default=10.0, help="PWM log2-odds a match needs")
    args = parser.parse_args()
    data = dn.datasets.load("ctcf_peaks")
    train, valid, test = (data[data.split == part] for part in ("train", "valid", "test"))
    began = time.perf_counter()
    model = dn.finetune(dn.load(), train, valid, epochs=args.epochs, progress=False, live_plot=False)
    scores = dn.evaluate(model, test, progress=False)
    print(
        f"ctcf_peaks: fine-tuned in {time.perf_counter() - began:.0f} s; test MCC {scores['mcc']:.3f}, "
        f"AUROC {scores['auroc']:.3f}"
    )
    peaks = test[test.label == 1]
    called = peaks[dn.predict(model, peaks, progress=False).label.to_numpy() == "1"]
    pwm = log_odds(dn.datasets.jaspar("CTCF")["MA0139.2"]).to_numpy()
    sites = [(sequence, *best_site(sequence, pwm)) for sequence in called.sequence]
    sites = [site for site in sites if site[3] >= args.min_score][: args.peaks]
    print(
        f"{len(called)} of {len(peaks)} test peaks called peaks; {len(sites)} used, each with a CTCF match "
        f">= {args.min_score} bits (MA0139.2, either strand)"
    )
    began = time.perf_counter()
    maps = dn.mutagenesis(model, [site[0] for site in sites], target="1", progress=False)
    print(f"mutagenesis of {len(sites)} x 200 nt in {time.perf_counter() - began:.0f} s")
    inside, outside, model_changes, pwm_changes = [], [], [], []
    for ism, (sequence, start, oriented, _) in zip(maps, sites):
        changes = ism.to_numpy()
        substituted = np.array([[base != reference for base in BASES] for reference in sequence])
        importance = -(changes * substituted).sum(axis=1) / 3
        in_site = np.zeros(len(sequence), dtype=bool)
        in_site[start : start + len(oriented)] = True
        inside.append(importance[in_site].mean())
        outside.append(importance[~in_site].mean())
        for offset in range(len(oriented)):
            position = start + offset
            reference = BASES.index(sequence[position])
            for base in range(4):
                if base != reference:
                    model_changes.append(changes[position, base])
                    pwm_changes.append(oriented[offset, base] - oriented[offset, reference])
    ratio = np.mean(inside) / np.mean(outside)
    rho = spearmanr(model_changes, pwm_changes)[0]
    print(
        f"importance inside the CTCF matches {np.mean(inside):.4f}, outside {np.mean(outside):.4f}: ratio {ratio:.1f}x"
    )
    print(
        f"Spearman(model change of p(peak), change of PWM score) over {len(model_changes)} substitutions "
        f"inside matches: {rho:.3f}"
    )


if __name__ == "__main__":
    main()
