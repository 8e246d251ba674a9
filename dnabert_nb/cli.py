"""Command line: ``python -m dnabert_nb finetune | evaluate``, the script to hand to ``accelerate launch``.

The same command trains on one CPU, one GPU, or several GPUs and nodes::

    python -m dnabert_nb finetune ../gue/prom_core_all --test ../gue/prom_core_all --output-dir run
    accelerate launch --multi_gpu --num_processes 4 -m dnabert_nb finetune ... --output-dir run
    torchrun --nproc_per_node 2 -m dnabert_nb finetune ... --output-dir run

Only the first process prints and writes files. Errors of the library (bad data, bad
checkpoint) are printed as one line and exit with status 2, not as a stack trace.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from pathlib import Path

from .core.model import HEAD_POOLINGS, load
from .core.processes import is_main_process
from .core.runtime import INFERENCE_PRECISIONS, PRECISIONS
from .dna.errors import DNABERTError
from .io.labelled import as_labelled
from .training.evaluate import evaluate
from .training.finetune import FinetuneConfig, finetune
from .training.targets import TASK_TYPES

FINETUNE_DEFAULTS = {
    name: p.default
    for name, p in inspect.signature(finetune).parameters.items()
    if p.default is not inspect.Parameter.empty
}
METRICS_FILE, HISTORY_FILE = "metrics.json", "history.csv"
PRECISION_CHOICES = ["auto", *PRECISIONS]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dnabert_nb", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    data_help = "a GUE task folder, a DNABERT .tsv, a sequence,label .csv, or a FASTA file with label= headers"

    tune = commands.add_parser(
        "finetune",
        help="fine-tune a model; write best/, last/ (restart-<n>/ after a collapse, linear-probe/ when kept), "
        "history.csv, metrics.json",
        description="Fine-tune a DNABERT model (dn.finetune) and evaluate it.",
    )
    tune.add_argument("train", help=f"training data: {data_help} (a GUE folder: its train split)")
    tune.add_argument(
        "--valid",
        "--eval",
        dest="valid",
        help="data that picks the best model (default for a GUE folder: its dev split)",
    )
    tune.add_argument("--test", help="test data scored once with the best model (a GUE folder: its test split)")
    tune.add_argument("--model", help="checkpoint folder or hub id to start from (default: the embedded model)")
    tune.add_argument("--output-dir", required=True, type=Path, help="where checkpoints and results are written")
    for option, kind in (
        ("epochs", _epochs),
        ("restarts", int),
        ("crop", float),
        ("lr", float),
        ("batch_size", int),
        ("warmup", float),
        ("weight_decay", float),
        ("eval_every", int),
        ("early_stopping_patience", int),
        ("seed", int),
        ("log_every", int),
    ):
        tune.add_argument(
            f"--{option.replace('_', '-')}",
            type=kind,
            default=FINETUNE_DEFAULTS[option],
            help=f"as in dn.finetune (default: {FINETUNE_DEFAULTS[option]})",
        )
    tune.add_argument("--task", default="auto", help=f"auto, {', '.join(TASK_TYPES)}")
    tune.add_argument("--metric", help="the evaluation metric that picks the best epoch (default: mcc; regression: r2)")
    tune.add_argument("--class-weights", choices=["balanced"], help="weight classes by their inverse frequency")
    tune.add_argument("--lora", action="store_true", help="train LoRA adapters (needs dnabert_nb[lora])")
    tune.add_argument(
        "--no-linear-probe", action="store_true", help="never keep the frozen encoder's linear probe instead"
    )
    tune.add_argument(
        "--reverse-complement", action="store_true", help="train on random strands (peaks: sequences without one)"
    )
    tune.add_argument(
        "--no-blend", action="store_true", help="never blend the model with the k-mer baseline's probabilities"
    )
    tune.add_argument(
        "--pooling", choices=HEAD_POOLINGS, help="what the task head reads (default: the model's own, else mean)"
    )
    tune.add_argument("--precision", default="auto", choices=PRECISION_CHOICES)
    tune.add_argument("--resume", action="store_true", help="continue an interrupted run in --output-dir")
    tune.add_argument("--no-progress", action="store_true", help="no progress bar (e.g. in batch jobs)")

    score = commands.add_parser(
        "evaluate",
        help="score a fine-tuned model on labelled data",
        description="Score a fine-tuned model (dn.evaluate) and print its metrics as JSON.",
    )
    score.add_argument("model", help="a fine-tuned checkpoint folder (e.g. RUN/best)")
    score.add_argument("data", help=f"labelled data: {data_help} (a GUE folder: its test split)")
    score.add_argument("--precision", default="auto", choices=["auto", *INFERENCE_PRECISIONS])
    return parser


def _epochs(text: str) -> int | str:
    """``--epochs``: a whole number, or ``auto``."""
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a whole number nor 'auto'") from None


def _finetune(args: argparse.Namespace) -> dict:
    config = FinetuneConfig(  # a bad option is named before the model and the data are read
        task=args.task,
        epochs=args.epochs,
        restarts=args.restarts,
        crop=args.crop,
        reverse_complement=args.reverse_complement,
        pooling=args.pooling,
        lr=args.lr,
        batch_size=args.batch_size,
        warmup=args.warmup,
        weight_decay=args.weight_decay,
        eval_every=args.eval_every,
        early_stopping_patience=args.early_stopping_patience,
        metric=args.metric,
        class_weights=args.class_weights,
        lora=args.lora or None,
        linear_probe=not args.no_linear_probe,
        blend=not args.no_blend,
        seed=args.seed,
        precision=args.precision,
        output_dir=args.output_dir,
        resume=args.resume,
        log_every=args.log_every,
        progress=not args.no_progress,
        live_plot=False,
    )
    start = load(args.model)
    test = None
    if args.test is not None:  # read and checked before training, so that a bad file costs no training
        test = as_labelled(args.test, "test", split="test")
        start.tokenizer.kmer_ids(test.sequences, test.ids)
    model = finetune(start, args.train, args.valid, **config.options())
    results = {"model": str(model.checkpoint), "valid": model.metrics}
    if test is not None:  # every process scores a share of the test windows
        results["test"] = evaluate(model, test, precision=args.precision)
    if not is_main_process():  # the other processes' copies of the model and scores are the same
        return results
    model.history.to_csv(args.output_dir / HISTORY_FILE, index=False)
    (args.output_dir / METRICS_FILE).write_text(json.dumps(results, indent=2))
    return results


def main(argv: list[str] | None = None) -> int:
    """Run one command line; return the exit status (0, or 2 after a library error).

    Parameters
    ----------
    argv
        The arguments after the program name; None reads ``sys.argv``.
    """
    args = _parser().parse_args(argv)
    try:
        if args.command == "finetune":
            results = _finetune(args)
        else:
            results = evaluate(load(args.model), args.data, precision=args.precision)
    except DNABERTError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if is_main_process():
        print(json.dumps(results, indent=2))
    return 0
