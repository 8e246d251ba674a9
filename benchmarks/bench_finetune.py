"""Fine-tuning speed: dn.finetune against the Hugging Face Trainer on the same model, data and batch size.

Reference: transformers.Trainer, fp32, BertTokenizer on space-separated k-mers, dynamic padding
(DataCollatorWithPadding), one epoch, no evaluation. dnabert_nb: dn.finetune for one epoch without
evaluation, precision "fp32" and "auto". Same starting weights (the embedded model with the same
new head), same sequences, same batch size.

Usage: python benchmarks/bench_finetune.py [--n 2000] [--batch-size 32] [--task prom_core_all]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from transformers import BertForSequenceClassification, DataCollatorWithPadding, Trainer, TrainingArguments

import dnabert_nb as dn
from dnabert_nb.testing import reference_kmer_text, reference_tokenizer

GUE = Path(__file__).resolve().parents[2] / "shared" / "gue"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--task", default="prom_core_all")
    args = parser.parse_args()
    data = dn.read_gue(GUE / args.task)
    train = data[data.split == "train"].sample(args.n, random_state=0)
    model = dn.load()
    one_per_class = train.groupby("label").head(1)
    start = dn.finetune(model, one_per_class, epochs=1, batch_size=2, progress=False, live_plot=False)  # fixes the head
    folder = start.save(Path(tempfile.mkdtemp()) / "start")
    print(
        f"{args.task}: {len(train)} sequences of {train.sequence.str.len().min()}-{train.sequence.str.len().max()} nt, "
        f"batch {args.batch_size}, model {model.config.hidden_size} x {model.config.num_hidden_layers} layers, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )

    tokenizer = reference_tokenizer(folder)
    encoded = tokenizer([reference_kmer_text(s, model.k) for s in train.sequence])
    rows = [
        {"input_ids": ids, "attention_mask": mask, "labels": int(y)}
        for ids, mask, y in zip(encoded["input_ids"], encoded["attention_mask"], train.label)
    ]
    network = BertForSequenceClassification.from_pretrained(folder)
    arguments = TrainingArguments(
        output_dir=tempfile.mkdtemp(),
        per_device_train_batch_size=args.batch_size,
        num_train_epochs=1,
        learning_rate=2e-4,
        report_to=[],
        save_strategy="no",
        logging_strategy="no",
        disable_tqdm=True,
        use_cpu=True,
        seed=0,
    )
    trainer = Trainer(
        model=network, args=arguments, train_dataset=rows, data_collator=DataCollatorWithPadding(tokenizer)
    )
    began = time.perf_counter()
    trainer.train()
    reference = len(train) / (time.perf_counter() - began)
    print(f"  HF Trainer (fp32)          {reference:8.1f} samples/s")

    loaded = dn.load(folder)
    for precision in ("fp32", "auto"):
        began = time.perf_counter()
        dn.finetune(
            loaded,
            train,
            epochs=1,
            batch_size=args.batch_size,
            lr=2e-4,
            precision=precision,
            progress=False,
            live_plot=False,
        )
        speed = len(train) / (time.perf_counter() - began)
        print(f"  dn.finetune ({precision:4s})        {speed:8.1f} samples/s   ratio {speed / reference:5.2f}x")


if __name__ == "__main__":
    main()
