"""finetune and evaluate: supervised training of a DNABERT model on labelled sequences."""

from __future__ import annotations

import copy
import json
import os
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm
from transformers import BertForSequenceClassification

from ._distributed import Processes
from ._errors import InputFormatError, ModelTaskError, require_positive_integers
from ._io import FASTA_SUFFIXES, as_sequence_table, read_dnabert_tsv, read_gue, read_labelled_fasta
from ._metrics import classification_metrics, multilabel_metrics, regression_metrics
from ._model import DNABERTModel, atomic_folder, load
from ._predict import _logits, _to_probabilities, average_windows, run_windows, window_runs
from ._runtime import resolve_precision
from ._tokenizer import pack_inputs
from ._training import apply_gradients, check_resumable, linear_schedule

TASK_TYPES = ("classification", "multilabel", "regression")
PROBLEM_TYPES = {"classification": "single_label_classification", "multilabel": "multi_label_classification",
                 "regression": "regression"}
DEFAULT_METRIC = {"classification": "mcc", "multilabel": "mcc", "regression": "r2"}
STATE_FILE = "training_state.pt"
#: Batches sorted together by length (length bucketing keeps padding low, order stays random).
BUCKET_BATCHES = 50


class LabelledSequences(NamedTuple):
    """Sequences with their labels, as finetune and evaluate receive them."""

    sequences: list
    labels: pd.Series


def as_labelled(data: object, what: str, split: str | None = None) -> LabelledSequences:
    """Accept a DataFrame (``sequence``, ``label``), a (sequences, labels) pair, a dict of
    label -> sequences (e.g. one FASTA file per class), a FASTA file with ``label=`` headers,
    a DNABERT TSV, a ``sequence,label`` CSV or a GUE task folder (``split`` picks its part)."""
    if isinstance(data, (str, os.PathLike)):
        frame = _labelled_file(Path(data).expanduser(), what, split)
    elif isinstance(data, dict):
        if not data:
            raise InputFormatError(f"The {what} data is an empty dict; map each label to its sequences.")
        frame = pd.concat(
            [pd.DataFrame({"sequence": as_sequence_table(members).sequences, "label": label})
             for label, members in data.items()],
            ignore_index=True,
        )
    elif isinstance(data, tuple) and len(data) == 2:
        frame = pd.DataFrame({"sequence": list(data[0]), "label": list(data[1])})
    elif isinstance(data, pd.DataFrame):
        frame = data
    else:
        raise InputFormatError(
            f"Cannot read {what} data from a {type(data).__name__}; pass a DataFrame with 'sequence' and 'label', "
            "a (sequences, labels) pair, a dict of label -> sequences or FASTA path, a FASTA file with "
            "'label=' headers, a DNABERT .tsv, a .csv or a GUE folder."
        )
    missing = {"sequence", "label"} - set(frame.columns)
    if missing:
        raise InputFormatError(f"The {what} data has no {' or '.join(sorted(missing))} column (columns: {list(frame.columns)}).")
    if len(frame) == 0:
        raise InputFormatError(f"The {what} data is empty.")
    labels = frame["label"].reset_index(drop=True)
    empty = labels.map(lambda v: v is None or (isinstance(v, float) and np.isnan(v)))
    if empty.any():
        raise InputFormatError(f"The {what} data has missing labels at rows {np.flatnonzero(empty)[:5].tolist()}; drop or fill them.")
    return LabelledSequences(frame["sequence"].tolist(), labels)


def _labelled_file(path: Path, what: str, split: str | None) -> pd.DataFrame:
    """Read labelled data from a GUE folder, FASTA, DNABERT .tsv or .csv file."""
    if path.is_dir():
        frame = read_gue(path)
        return frame[frame["split"] == (split or "train")]
    if path.name.lower().endswith(FASTA_SUFFIXES):
        return read_labelled_fasta(path)
    if path.suffix.lower() in (".tsv", ".txt"):
        return read_dnabert_tsv(path)
    if path.suffix.lower() == ".csv" and path.is_file():
        return pd.read_csv(path)
    raise InputFormatError(
        f"The {what} data {str(path)!r} is not a GUE folder, a FASTA file, a DNABERT .tsv or a .csv file."
    )


def infer_task(labels: pd.Series) -> str:
    """classification (ints or names), multilabel (lists of names) or regression (non-integer numbers)."""
    if labels.map(lambda v: isinstance(v, (list, tuple, set, frozenset, np.ndarray))).any():
        return "multilabel"
    if pd.api.types.is_float_dtype(labels) and not np.allclose(labels, np.round(labels)):
        return "regression"
    return "classification"


def _class_names(labels: pd.Series, task: str) -> list[str]:
    if task == "regression":
        return ["value"]
    if task == "multilabel":
        return sorted({str(name) for row in labels for name in row})
    values = labels.unique()
    if pd.api.types.is_numeric_dtype(labels):
        values = sorted(values)
        return [str(int(v)) for v in values]
    return sorted(str(v) for v in values)


def encode_targets(labels: pd.Series, task: str, names: list[str], what: str) -> np.ndarray:
    """Labels as training targets: class indices, multi-hot rows or float values."""
    if task == "regression":
        return labels.to_numpy(dtype=np.float32).reshape(-1, 1)
    index = {name: i for i, name in enumerate(names)}
    as_name = (lambda v: str(int(v))) if pd.api.types.is_numeric_dtype(labels) else str
    if task == "multilabel":
        targets = np.zeros((len(labels), len(names)), dtype=np.float32)
        for row, value in enumerate(labels):
            for name in value:
                if str(name) not in index:
                    raise InputFormatError(f"The {what} data has label {name!r} (row {row}), unknown to the model ({names}).")
                targets[row, index[str(name)]] = 1
        return targets
    unknown = sorted({as_name(v) for v in labels} - set(names))
    if unknown:
        raise InputFormatError(f"The {what} data has labels {unknown} that the model does not know ({names}).")
    return np.array([index[as_name(v)] for v in labels], dtype=np.int64)


def _task_network(model: DNABERTModel, task: str, names: list[str], seed: int) -> BertForSequenceClassification:
    """The model's network if its head fits the task; else its encoder under a new head."""
    if model.task == task and model.labels == names:
        return copy.deepcopy(model.network)
    config = copy.deepcopy(model.config)
    config.num_labels = len(names)
    config.id2label = dict(enumerate(names))
    config.label2id = {name: i for i, name in enumerate(names)}
    config.problem_type = PROBLEM_TYPES[task]
    config.architectures = [BertForSequenceClassification.__name__]
    torch.manual_seed(seed)
    network = BertForSequenceClassification(config)
    missing, unexpected = network.bert.load_state_dict(model.encoder.state_dict(), strict=False)
    if [key for key in missing if not key.startswith("pooler.")] or unexpected:
        raise ModelTaskError(f"The encoder weights do not fit a classification network: {missing or unexpected}.")
    return network


def _loss(task: str, logits: torch.Tensor, targets: torch.Tensor, class_weights: torch.Tensor | None) -> torch.Tensor:
    logits = logits.float()
    if task == "classification":
        return F.cross_entropy(logits, targets, weight=class_weights)
    if task == "multilabel":
        return F.binary_cross_entropy_with_logits(logits, targets, pos_weight=class_weights)
    return F.mse_loss(logits, targets)


def _class_weights(option: object, targets: np.ndarray, task: str, n: int) -> torch.Tensor | None:
    if option is None or task == "regression":
        return None
    if isinstance(option, str) and option == "balanced":
        if task == "classification":
            counts = np.bincount(targets, minlength=n).astype(float)
            return torch.tensor(len(targets) / (n * np.maximum(counts, 1)), dtype=torch.float32)
        positives = targets.sum(axis=0)
        return torch.tensor((len(targets) - positives) / np.maximum(positives, 1), dtype=torch.float32)
    weights = np.asarray(option, dtype=np.float32)
    if weights.shape != (n,):
        raise InputFormatError(f"class_weights has {weights.size} values for {n} classes; give one per class or 'balanced'.")
    return torch.from_numpy(weights)


def evaluate(model: DNABERTModel, data: object, *, batch_size: int = 64, precision: str | None = None,
             progress: bool = False) -> dict[str, float]:
    """Score a model with a task head on labelled data.

    Parameters
    ----------
    model
        A fine-tuned :class:`DNABERTModel`.
    data
        As for :func:`finetune` (a GUE folder is read at its test split).
    batch_size, precision, progress
        As for :func:`dnabert_nb.predict`.

    Returns
    -------
    dict
        Classification: ``accuracy``, ``macro_f1``, ``mcc`` (-1..1), ``precision``, ``recall``
        (macro), ``auroc``, ``auprc`` (binary: of the second class; multi-class: macro
        one-vs-rest). Multi-label: ``micro_f1``, ``macro_f1``, ``mcc`` (macro), ``auroc``,
        ``auprc`` and per-label ``f1_<label>``, ``mcc_<label>``, ``auroc_<label>``. Regression:
        ``mse``, ``mae``, ``pearson``, ``spearman``, ``r2``. Plus ``loss`` (the training loss) and
        ``n``, the number of sequences.
    """
    if model.task is None:
        raise ModelTaskError("This model has no task head to evaluate; fine-tune it first (dn.finetune).")
    labelled = as_labelled(data, "evaluation", split="test")
    targets = encode_targets(labelled.labels, model.task, model.labels, "evaluation")
    return _scores(model, labelled.sequences, targets, batch_size=batch_size, precision=precision, progress=progress)


def _scores(model: DNABERTModel, sequences: list, targets: np.ndarray, *, batch_size: int = 64,
            precision: str | None = None, progress: bool = False) -> dict[str, float]:
    """Loss and metrics of ``model`` on encoded targets; long sequences average their windows.

    Metrics use window-averaged probabilities (as :func:`dnabert_nb.predict` reports them), the
    loss the window-averaged logits (the training loss for one-window sequences).
    """
    result = run_windows(model, sequences, _logits, batch_size=batch_size, precision=precision,
                         window_overlap=None, progress=progress, description="evaluate")
    logits = average_windows(result.windows, result.values, len(result.ids))
    outputs = average_windows(result.windows, _to_probabilities(model.task, result.values), len(result.ids))
    loss = float(_loss(model.task, torch.from_numpy(logits), torch.from_numpy(targets), None))
    return {"loss": loss, **_score(model.task, targets, outputs, model.labels), "n": len(targets)}


def _score(task: str, targets: np.ndarray, outputs: np.ndarray, names: list[str]) -> dict[str, float]:
    if task == "classification":
        return classification_metrics(targets, outputs)
    if task == "multilabel":
        return multilabel_metrics(targets, outputs, names)
    return regression_metrics(targets, outputs)


class ClassifierObjective(torch.nn.Module):
    """The task head's outputs as one module, so that data-parallel wrappers see its forward pass."""

    def __init__(self, network: BertForSequenceClassification):
        super().__init__()
        self.network = network

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return _logits(self.network, input_ids, attention_mask)


def _epoch_batches(lengths: np.ndarray, batch_size: int, seed: int, epoch: int, processes: Processes) -> list[np.ndarray]:
    """This process's batches of one epoch: shuffled, bucketed by length, the same for a given seed and epoch."""
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths))
    batches = []
    bucket = batch_size * BUCKET_BATCHES
    for first in range(0, len(order), bucket):
        chunk = order[first : first + bucket]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    batches = [batches[i] for i in rng.permutation(len(batches))]
    usable = len(batches) - len(batches) % processes.world_size if processes.world_size > 1 else len(batches)
    return batches[processes.rank : usable : processes.world_size]


def _parameter_groups(network: torch.nn.Module, weight_decay: float) -> list[dict]:
    decay, no_decay = [], []
    for name, parameter in network.named_parameters():
        if parameter.requires_grad:
            (no_decay if name.endswith("bias") or "LayerNorm" in name else decay).append(parameter)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def _apply_lora(network: BertForSequenceClassification, lora: object) -> torch.nn.Module:
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError as error:
        from ._errors import MissingDependencyError

        raise MissingDependencyError("lora= needs peft: pip install 'dnabert_nb[lora]'.") from error
    options = {"r": 8, "lora_alpha": 16, "lora_dropout": 0.1, "target_modules": ["query", "key", "value"]}
    options.update(lora if isinstance(lora, dict) else {})
    config = LoraConfig(modules_to_save=["classifier", "pooler"], **options)
    return get_peft_model(network, config)


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def finetune(
    model: DNABERTModel,
    train: object,
    eval: object = None,  # noqa: A002 - the name users expect
    *,
    task: str = "auto",
    epochs: int = 3,
    lr: float = 2e-4,
    batch_size: int = 32,
    warmup_ratio: float = 0.1,
    weight_decay: float = 0.01,
    early_stopping_patience: int | None = None,
    metric: str | None = None,
    class_weights: object = None,
    lora: bool | dict | None = None,
    seed: int = 0,
    precision: str = "auto",
    output_dir: str | os.PathLike | None = None,
    save_every: int | None = None,
    resume: bool = False,
    log_every: int = 20,
    progress: bool = True,
    live_plot: bool | str = "auto",
) -> DNABERTModel:
    """Fine-tune a DNABERT model on labelled sequences; return the best model on ``eval``.

    Parameters
    ----------
    model
        A :class:`DNABERTModel` (e.g. ``dn.load()``); it is not changed. Without a fitting
        head, its encoder gets a new one (seeded by ``seed``).
    train, eval
        A DataFrame with ``sequence`` and ``label``, a (sequences, labels) pair, a DNABERT
        ``.tsv``, a ``sequence,label`` ``.csv``, or a GUE task folder (its train split; with
        ``eval=None`` its dev split is the evaluation data). Labels: integers or names
        (classification), lists of names (multi-label), non-integer numbers (regression).
        A sequence longer than one model input (``model.tokenizer.max_nucleotides``: 515 nt
        for DNABERT-6) is cut into windows sharing 100 nt, each trained on with the sequence's
        label; evaluation averages the windows' probabilities, as :func:`dnabert_nb.predict` does.
    task
        ``"auto"`` (decided from the labels), ``"classification"``, ``"multilabel"`` or ``"regression"``.
    epochs, lr, batch_size, warmup_ratio, weight_decay
        AdamW, linear warm-up over ``warmup_ratio`` of the steps, then linear decay to zero.
        ``batch_size`` is per process.
    early_stopping_patience
        Stop after this many evaluations without improvement of ``metric``; None trains all epochs.
    metric
        The :func:`evaluate` metric that picks the best epoch; None means ``mcc`` for
        classification and multi-label, ``r2`` for regression.
    class_weights
        None, ``"balanced"``, or one weight per class (classification) / label (multi-label).
    lora
        True or a dict of ``peft.LoraConfig`` options: train low-rank adapters (on query, key,
        value) plus the head instead of every weight; merged into the returned model.
    seed
        Seeds the head, batch order and dropout: the same seed on a CPU gives identical results.
    precision
        ``"auto"`` (bf16 autocast where fast), ``"fp32"``, ``"bf16"``.
    output_dir
        Where ``best/`` and ``last/`` checkpoints are written atomically after every
        evaluation (and every ``save_every`` steps into ``last/``); both load with
        :func:`dnabert_nb.load` and plain transformers.
    resume
        Continue from ``output_dir/last`` after an interruption: same batches, same schedule.
    log_every, progress, live_plot
        Training-loss rows every ``log_every`` steps; a progress bar; one live figure of the
        curves updated in place (``"auto"``: in a Jupyter notebook).

    Returns
    -------
    DNABERTModel
        The fine-tuned model (best evaluation restored) with ``.history`` (DataFrame by step:
        ``epoch``, ``loss``, ``lr``, ``samples_per_s``, and ``valid_loss`` / ``valid_<metric>``
        after each epoch) and ``.metrics`` (the best evaluation, or None without ``eval``).
    """
    if task != "auto" and task not in TASK_TYPES:
        raise InputFormatError(f"task = {task!r}; use 'auto', {', '.join(map(repr, TASK_TYPES))}.")
    require_positive_integers(epochs=epochs, batch_size=batch_size, log_every=log_every)
    if resume and output_dir is None:
        raise InputFormatError("resume=True needs the output_dir of the interrupted run.")
    train_data = as_labelled(train, "training")
    if eval is None and isinstance(train, (str, os.PathLike)) and Path(train).is_dir():
        eval = train  # a GUE folder: its dev split
    eval_data = None if eval is None else as_labelled(eval, "evaluation", split="valid")
    task = infer_task(train_data.labels) if task == "auto" else task
    every_label = train_data.labels if eval_data is None else pd.concat([train_data.labels, eval_data.labels])
    names = _class_names(every_label, task)
    if model.task == task and model.labels is not None and set(model.labels) == set(names):
        names = model.labels
    if task == "classification" and len(names) < 2:
        raise InputFormatError(f"The training data has one class only ({names}); classification needs two or more.")
    metric = metric or DEFAULT_METRIC[task]
    train_targets = encode_targets(train_data.labels, task, names, "training")
    eval_targets = None if eval_data is None else encode_targets(eval_data.labels, task, names, "evaluation")

    tokenizer = model.tokenizer
    token_ids, offsets = tokenizer.kmer_ids(train_data.sequences)
    windows, starts, n_kmers = window_runs(tokenizer, offsets, None)
    window_targets = train_targets[windows.sequence_index]
    if eval_data is not None:
        tokenizer.kmer_ids(eval_data.sequences)  # fail on bad evaluation sequences before training

    processes = Processes(model.device)
    device = processes.device
    dtype = resolve_precision(precision, device)
    network = _task_network(model, task, names, seed)
    trainable = _apply_lora(network, lora) if lora else network
    trainable.to(device)
    result = DNABERTModel(network, tokenizer, labels=names, device=device, precision=model.precision,
                          source=f"finetune({model.source})")
    objective = processes.wrap(ClassifierObjective(trainable))
    steps_per_epoch = len(_epoch_batches(n_kmers, batch_size, seed, 0, processes))
    total_steps = steps_per_epoch * epochs
    warmup_steps = max(1, round(warmup_ratio * total_steps))
    optimizer = torch.optim.AdamW(_parameter_groups(trainable, weight_decay), lr=lr)
    scheduler = linear_schedule(optimizer, warmup_steps, total_steps)
    weights = _class_weights(class_weights, train_targets, task, len(names))
    weights = None if weights is None else weights.to(device)
    settings = json.loads(json.dumps(dict(task=task, names=names, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed,
                                          warmup_ratio=warmup_ratio, weight_decay=weight_decay, lora=lora, metric=metric,
                                          precision=str(dtype), world_size=processes.world_size), default=str))
    output = Path(output_dir) if output_dir is not None else None
    history: list[dict] = []
    step, best_score, best_state, best_metrics, stale = 0, -np.inf, None, None, 0
    torch.manual_seed(seed + 1 + processes.rank)
    if resume and (output / "last" / STATE_FILE).is_file():
        state = torch.load(output / "last" / STATE_FILE, map_location="cpu", weights_only=True)
        check_resumable(state["settings"], settings, output / "last")
        network.load_state_dict(load(output / "last", device="cpu").network.state_dict())
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        history, step, best_score, stale = json.loads(state["history"]), state["step"], state["best_score"], state["stale"]
        best_metrics = json.loads(state["best_metrics"])
        if (output / "best" / "config.json").is_file():
            best_state = {k: v.clone() for k, v in load(output / "best", device="cpu").network.state_dict().items()}
        torch.set_rng_state(state["torch_rng"][processes.rank])  # last: building networks above draws numbers

    def save_last() -> None:
        torch_states = processes.gather(torch.get_rng_state())
        if output is None or not processes.is_main:
            processes.barrier()
            return
        with atomic_folder(output / "last") as staging:
            result.write_files(staging)
            torch.save({"settings": settings, "step": step, "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(), "torch_rng": torch_states, "history": json.dumps(history),
                        "best_score": best_score, "stale": stale, "best_metrics": json.dumps(best_metrics)},
                       staging / STATE_FILE)
        processes.barrier()

    live = None
    if live_plot is True or (live_plot == "auto" and _in_notebook() and processes.is_main):
        from .pl._training import LiveTrainingCurves

        live = LiveTrainingCurves()
    window = {"loss": 0.0, "samples": 0, "started": time.perf_counter()}
    show = progress and processes.is_main
    with tqdm(total=total_steps, initial=step, desc="finetune", unit="step", disable=not show) as bar:
        while step < total_steps:
            epoch, position = divmod(step, steps_per_epoch)
            batches = _epoch_batches(n_kmers, batch_size, seed, epoch, processes)
            trainable.train()
            for rows in batches[position:]:
                batch = pack_inputs(token_ids, starts[rows], n_kmers[rows])
                input_ids = torch.from_numpy(batch["input_ids"]).to(device)
                attention_mask = torch.from_numpy(batch["attention_mask"]).to(device)
                targets = torch.from_numpy(window_targets[rows]).to(device)
                with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
                    loss = _loss(task, objective(input_ids, attention_mask), targets, weights)
                apply_gradients(loss, trainable.parameters(), optimizer, scheduler)
                step += 1
                bar.update(1)
                window["loss"] += float(loss.detach()) * len(rows)
                window["samples"] += len(rows)
                if step % log_every == 0:
                    loss_sum, samples = processes.sum([window["loss"], window["samples"]])
                    history.append({"step": step, "epoch": step / steps_per_epoch, "loss": loss_sum / samples,
                                    "lr": scheduler.get_last_lr()[0],
                                    "samples_per_s": samples / (time.perf_counter() - window["started"])})
                    window = {"loss": 0.0, "samples": 0, "started": time.perf_counter()}
                    bar.set_postfix(loss=f"{history[-1]['loss']:.4f}")
                    if live is not None:
                        live.update(pd.DataFrame(history))
                if save_every and step % save_every == 0 and step % steps_per_epoch:
                    save_last()
            trainable.eval()
            if eval_data is not None:
                current = _with_network(result, _plain_network(trainable, lora))
                scores = _scores(current, eval_data.sequences, eval_targets, precision=precision)
                history.append({"step": step, "epoch": step / steps_per_epoch,
                                **{f"valid_{key}": value for key, value in scores.items() if key != "n"}})
                bar.set_postfix({"loss": f"{history[-2]['loss']:.4f}" if len(history) > 1 and "loss" in history[-2] else "",
                                 f"valid_{metric}": f"{scores[metric]:.4f}"})
                if live is not None:
                    live.update(pd.DataFrame(history))
                if scores[metric] > best_score:
                    best_score, best_metrics, stale = scores[metric], scores, 0
                    best_state = {k: v.detach().clone() for k, v in current.network.state_dict().items()}
                    if output is not None and processes.is_main:
                        with atomic_folder(output / "best") as staging:
                            current.write_files(staging)
                else:
                    stale += 1
            save_last()
            if early_stopping_patience is not None and stale >= early_stopping_patience:
                break
    final = _plain_network(trainable, lora)
    if best_state is not None:
        final.load_state_dict(best_state)
    finished = _with_network(result, final.eval())
    finished.history = pd.DataFrame(history)
    finished.metrics = best_metrics
    return finished


def _plain_network(trainable: torch.nn.Module, lora: object) -> torch.nn.Module:
    """The plain transformers network behind ``trainable``: itself, or a copy with LoRA adapters merged."""
    return copy.deepcopy(trainable).merge_and_unload() if lora else trainable


def _with_network(model: DNABERTModel, network: torch.nn.Module) -> DNABERTModel:
    return DNABERTModel(network, model.tokenizer, labels=model.labels, device=model.device,
                        precision=model.precision, source=model.source)
