"""attention_scores against the reference DNABERT-viz recipe (output_attentions=True, fp32): speed and peak memory.

Model: DNABERT-6 size (hidden 768, 12 layers, 12 heads), random weights, 300 bp sequences.
Each method runs in a fresh process; peak memory is the rise of the process's peak resident set
(VmHWM, reset after loading the model) while it scores the sequences.

Usage: python benchmarks/bench_attention.py [--n 64] [--length 300] [--batch-size 16]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np


def peak_rss_kib() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))


def worker(method: str, folder: str, n: int, length: int, batch_size: int) -> None:
    import torch
    from transformers import BertForSequenceClassification

    import dnabert_nb as dn

    rng = np.random.default_rng(0)
    sequences = ["".join(rng.choice(list("ACGT"), size=length)) for _ in range(n)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = dn.load(folder)
        eager = BertForSequenceClassification.from_pretrained(folder, attn_implementation="eager").eval()
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")  # reset the peak resident set size
    before = peak_rss_kib()
    began = time.perf_counter()
    if method == "reference":
        tokenizer = dn.KmerTokenizer(6)
        with torch.no_grad():
            for first in range(0, n, batch_size):
                batch = tokenizer.encode(sequences[first : first + batch_size])
                attentions = eager(input_ids=torch.from_numpy(batch["input_ids"]), output_attentions=True).attentions
                rows = attentions[-1][:, :, 0, 1:-1].sum(dim=1).numpy()
                for row in rows:
                    counts = np.convolve(np.ones(len(row)), np.ones(6))
                    scores = np.convolve(row, np.ones(6)) / counts
                    scores / np.linalg.norm(scores)
    else:
        dn.attention_scores(model, sequences, batch_size=batch_size, precision=method, progress=False)
    seconds = time.perf_counter() - began
    print(json.dumps({"seconds": seconds, "peak_mib": (peak_rss_kib() - before) / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--length", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1], args.n, args.length, args.batch_size)
        return
    from dnabert_nb.testing import official_config, write_checkpoint

    folder = write_checkpoint(tempfile.mkdtemp(), official_config(6), num_labels=2, weights="model.safetensors")
    results = {}
    for method in ("reference", "fp32", "auto"):
        output = subprocess.run(
            [
                sys.executable,
                __file__,
                "--n",
                str(args.n),
                "--length",
                str(args.length),
                "--batch-size",
                str(args.batch_size),
                "--worker",
                method,
                str(folder),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        results[method] = json.loads(output.strip().splitlines()[-1])
    reference = results["reference"]
    print(f"{args.n} x {args.length} bp, batch {args.batch_size}, DNABERT-6 size")
    for method, result in results.items():
        print(
            f"  {method:9s} {args.n / result['seconds']:7.2f} seq/s  "
            f"ratio {reference['seconds'] / result['seconds']:5.2f}x  "
            f"peak +{result['peak_mib']:7.1f} MiB"
        )


if __name__ == "__main__":
    main()
