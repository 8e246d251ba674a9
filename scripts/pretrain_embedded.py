"""Reproduce the embedded model dnabert-mini-6: pre-train on human chr22 and export it.

Usage:
    python scripts/pretrain_embedded.py --output-dir runs/dnabert-mini-6
    python scripts/pretrain_embedded.py --output-dir runs/dnabert-mini-6 --export   # fp16 copy into the package

Needs the Debian package maffilter-examples (human chr22, hg19). Three stages (STAGES), each in
OUTPUT_DIR/stageN; an interrupted run resumes where it stopped. The held-out last 5% of chr22 is
the validation set. Wall time per stage is in the log; tokens/s per step in history.csv.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import time
from pathlib import Path

import pandas as pd
import torch
from transformers import BertForMaskedLM

import dnabert_nb as dn

PACKAGE_MODEL = Path(__file__).resolve().parents[1] / "dnabert_nb" / "models" / "dnabert-mini-6"
COMMON = {
    "k": 6,
    "config": "mini",
    "eval_every": 250,
    "eval_windows": 128,
    "save_every": 250,
    "seed": 0,
    "resume": True,
}
#: A fresh k-mer-aware model first learns to read its neighbours on single masked k-mers, then trains
#: with DNABERT's 6-token spans; a last stage also teaches [CLS] to summarise the window (cls_summary),
#: which classification heads read. All on 128-token windows, the most steps two CPU cores allow.
STAGES = [
    {"mask_span": 1, "max_length": 128, "batch_size": 32, "lr": 1e-3, "warmup": 0.05, "steps": 2000},
    {"mask_span": 6, "max_length": 128, "batch_size": 32, "lr": 7e-4, "warmup": 0.02, "steps": 4500},
    {
        "mask_span": 6,
        "max_length": 128,
        "batch_size": 32,
        "lr": 3e-4,
        "warmup": 0.05,
        "steps": 1000,
        "cls_summary": 1.0,
    },
]
#: Positions the stages train; the exported model keeps only these (longer inputs go through windows).
CONTEXT = 128


def with_context(model: dn.DNABERTModel, positions: int) -> dn.DNABERTModel:
    """The same model with only its first ``positions`` position embeddings (the ones training reached)."""
    config = copy.deepcopy(model.config)
    config.max_position_embeddings = positions
    network = BertForMaskedLM(config)
    state = model.network.state_dict()
    state["bert.embeddings.position_embeddings.weight"] = state["bert.embeddings.position_embeddings.weight"][
        :positions
    ]
    network.load_state_dict(state, strict=False)
    return dn.DNABERTModel(network, model.tokenizer, source=model.source)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, required=True)
    parser.add_argument("--export", action="store_true", help="copy the finished checkpoint into the package as fp16")
    args = parser.parse_args()
    final = args.output_dir / f"stage{len(STAGES)}" / "last"
    if args.export:
        model = with_context(dn.load(final), CONTEXT)
        card = (PACKAGE_MODEL / "MODEL_CARD.md").read_text()  # save() replaces the folder
        model.save(PACKAGE_MODEL, dtype=torch.float16)
        (PACKAGE_MODEL / "MODEL_CARD.md").write_text(card)
        print(f"exported {final} to {PACKAGE_MODEL} with a context of {CONTEXT} tokens")
        return
    train = list(dn.datasets.genome("hg19_chr22", split="train"))
    valid = list(dn.datasets.genome("hg19_chr22", split="valid"))
    histories, init = [], None
    for number, stage in enumerate(STAGES, start=1):
        began = time.time()
        output = args.output_dir / f"stage{number}"
        model = dn.pretrain(train, valid=valid, init=init, output_dir=output, **COMMON, **stage)
        histories.append(model.history.assign(stage=number))
        print(
            f"stage {number}: {time.time() - began:.0f} s (this call), {model.history.iloc[-1].to_dict()}", flush=True
        )
        init = output / "last"
    history = pd.concat(histories, ignore_index=True)
    history.to_csv(args.output_dir / "history.csv", index=False)
    summary = {
        "stages": STAGES,
        **COMMON,
        "tokens_seen": sum(s["steps"] * s["batch_size"] * s["max_length"] for s in STAGES),
        "hardware": f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}",
        "final": history.iloc[-1].to_dict(),
    }
    (args.output_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=float))
    print(json.dumps(summary, indent=2, default=float))


if __name__ == "__main__":
    main()
