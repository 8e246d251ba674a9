"""Reproduce the embedded model dnabert-mini-6: pre-train on human chr22 and export it.

Usage:
    python scripts/pretrain_embedded.py --output-dir runs/dnabert-mini-6 [--steps 2000]
    python scripts/pretrain_embedded.py --output-dir runs/dnabert-mini-6 --export   # fp16 copy into the package

Needs the Debian package maffilter-examples (human chr22, hg19). Training resumes from
OUTPUT_DIR/checkpoint when it exists. The held-out last 5% of chr22 is the validation set.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

import dnabert_nb as dn

PACKAGE_MODEL = Path(__file__).resolve().parents[1] / "dnabert_nb" / "models" / "dnabert-mini-6"
SETTINGS = {"k": 6, "config": "mini", "max_length": 512, "batch_size": 16, "lr": 5e-4, "warmup": 0.05,
            "eval_every": 100, "eval_windows": 128, "save_every": 50, "seed": 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--export", action="store_true", help="copy the finished checkpoint into the package as fp16")
    args = parser.parse_args()
    if args.export:
        model = dn.load(args.output_dir / "checkpoint")
        model.save(PACKAGE_MODEL, dtype=torch.float16)
        print(f"exported to {PACKAGE_MODEL}")
        return
    started = time.time()
    model = dn.pretrain(
        dn.datasets.genome("hg19_chr22", split="train"),
        valid=dn.datasets.genome("hg19_chr22", split="valid"),
        steps=args.steps,
        output_dir=args.output_dir,
        **SETTINGS,
    )
    summary = {
        "steps": args.steps, **SETTINGS, "wall_time_s": round(time.time() - started),
        "hardware": f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}",
        "final": model.history.iloc[-1].to_dict(),
    }
    model.history.to_csv(args.output_dir / "history.csv", index=False)
    (args.output_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=float))
    print(json.dumps(summary, indent=2, default=float))


if __name__ == "__main__":
    main()
