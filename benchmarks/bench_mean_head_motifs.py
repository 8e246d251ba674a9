"""Motifs from a mean-pooled head (finetune's default): attention (the mean of the k-mer rows) against token
contributions, on ctcf_peaks.

Fine-tunes the embedded model on ctcf_peaks with finetune's default head (or loads ``--model``), then:

1. Where the scores put the CTCF site: for each test positive, its best JASPAR CTCF match (log-odds, both strands);
   the share of the peak's positions scoring above the site's mean score (median over peaks; lower is sharper).
2. ``dn.attention_motifs`` with ``scores_from="attention"`` and ``"contributions"`` (target: the positive class) on
   the 50 test positives and on all 500 positives, with its defaults (10 seeded dinucleotide shuffles per peak):
   the number of motifs and the best JASPAR match of the first five.

Usage: python benchmarks/bench_mean_head_motifs.py [--model FOLDER] [--save FOLDER] [--epochs 3]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import dnabert_nb as dn
from dnabert_nb.dna.pfm import log_odds, reverse_complement


def best_site(sequence: str, pwm: np.ndarray) -> tuple[float, int]:
    """The best log-odds score of ``pwm`` on either strand of ``sequence``, and where its window starts."""
    codes = np.array(["ACGT".find(base) for base in sequence.upper()])
    width, best = len(pwm), (-np.inf, 0)
    for matrix in (pwm, reverse_complement(pwm)):
        for start in range(len(sequence) - width + 1):
            window = codes[start : start + width]
            if (window >= 0).all():
                best = max(best, (float(matrix[np.arange(width), window].sum()), start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a fine-tuned mean-pooled model folder (default: fine-tune one here)")
    parser.add_argument("--save", help="where to save the model this run fine-tunes")
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    data = dn.datasets.load("ctcf_peaks")
    train, valid, test = (data[data.split == split] for split in ("train", "valid", "test"))
    if args.model:
        model = dn.load(args.model)
    else:
        began = time.perf_counter()
        model = dn.finetune(dn.load(), train, valid, epochs=args.epochs, progress=False, live_plot=False)
        print(f"fine-tuned in {time.perf_counter() - began:.0f} s")
        if args.save:
            model.save(args.save)
    print(model)
    print(f"test MCC {dn.evaluate(model, test, progress=False)['mcc']:.3f}")

    positives = list(test[test.label == 1].sequence)
    pwm = log_odds(next(iter(dn.datasets.jaspar("CTCF").values()))).to_numpy()
    sites = [best_site(sequence, pwm) for sequence in positives]
    width = len(pwm)
    tracks = {
        "attention": dn.attention_scores(model, positives, progress=False),
        "contributions": dn.token_contributions(model, positives, target=1, progress=False),
    }
    for name, scores in tracks.items():
        above = [(score > score[start : start + width].mean()).mean() for (_, start), score in zip(sites, scores)]
        print(f"{name}: median share of a peak's positions above its CTCF site's mean: {np.median(above):.3f}")

    everything = list(data[data.label == 1].sequence)
    for label, chosen in (("50 test positives", positives), (f"all {len(everything)} positives", everything)):
        for source in ("attention", "contributions"):
            began = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the mean-head note of scores_from="attention"
                result = dn.attention_motifs(model, chosen, scores_from=source, target=1, progress=False)
            names = result.motifs["best_match"].head(5).tolist()
            print(f"{label}, {source}: {len(result.motifs)} motifs in {time.perf_counter() - began:.0f} s; {names}")


if __name__ == "__main__":
    main()
