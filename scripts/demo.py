"""The main job of `make demo`: fine-tune the embedded DNABERT model on a shipped promoter task.

Usage: python scripts/demo.py [CHECKPOINT_FOLDER] [--seed N] [--output-dir DIR]

Loads the embedded pretrained model (or the given checkpoint), fine-tunes it at finetune's defaults to tell
Drosophila core promoters from distal upstream windows (`fly_core_promoters`, a subset of its
training split), evaluates on the test split, prints the metrics beside those of the k-mer baseline
(`dn.baseline`, which finetune fits on the same data), and saves a figure (training
curves, confusion matrix, ROC) and the fine-tuned model to demo_output/ (or --output-dir).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import dnabert_nb as dn

OUTPUT = Path(__file__).resolve().parents[1] / "demo_output"
# The rows of bench_finetune_stability.py's fly_core_promoters subset, so that its three seeds are the demo's
# (BENCHMARKS.md, "Time to a model").
DATASET, N_TRAIN, N_VALID, N_TEST = "fly_core_promoters", 2000, 1000, 2000


def main(checkpoint: str | None, seed: int = 0, output: Path = OUTPUT) -> None:
    """Fine-tune, evaluate beside the baseline and save the figure and model under ``output``."""
    started = time.perf_counter()
    model = dn.load(checkpoint)
    print(model)
    data = dn.datasets.load(DATASET)
    train = data[data.split == "train"].sample(N_TRAIN, random_state=0)
    valid = data[data.split == "valid"].sample(N_VALID, random_state=0)
    test = data[data.split == "test"].sample(N_TEST, random_state=0)
    print(f"\n{DATASET}: {dn.datasets.info(DATASET)['description']}")
    print(f"fine-tuning on {len(train)} sequences, selecting on {len(valid)}, testing on {len(test)}")
    tuned = dn.finetune(model, train, valid, output_dir=output / "model", seed=seed)
    # beside the bar to clear: the k-mer counts + logistic regression finetune fitted on the same data
    scores = dn.evaluate(tuned, test, baseline=True)
    print(f"test split (k-mer baseline: k={tuned.baseline.k}):")
    print(scores[["accuracy", "mcc", "auroc"]].round(3).to_string())
    predictions = dn.predict(tuned, test)
    fig, axes = plt.subplots(1, 4, figsize=(19, 3.8), layout="constrained", width_ratios=(1, 1.45, 0.8, 0.8))
    dn.pl.training_curves(tuned, ax=axes[:2])  # its baseline, and the valid MCC of what was kept
    dn.pl.confusion(predictions, test.label, ax=axes[2])
    dn.pl.roc(predictions, test.label, ax=axes[3])
    fig.savefig(output / "demo.png", dpi=110)
    print(f"figure: {output / 'demo.png'}; model: {tuned.checkpoint}; {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", nargs="?", help="checkpoint folder (default: the embedded model)")
    parser.add_argument("--seed", type=int, default=0, help="finetune's seed (the data subsets stay the same)")
    parser.add_argument("--output-dir", type=Path, default=OUTPUT, help="where the figure and the model go")
    args = parser.parse_args()
    main(args.checkpoint, args.seed, args.output_dir)
