"""pretrain: masked-language-model pre-training with DNABERT's k-span masking."""

from __future__ import annotations

import copy
import json
import os
import time
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm
from transformers import BertConfig, BertForMaskedLM

from ._distributed import Processes
from ._errors import InputFormatError, require_positive_integers
from ._io import as_sequence_table
from ._model import DNABERTModel, atomic_folder, load
from ._runtime import resolve_device, resolve_precision
from ._training import apply_gradients, check_resumable, linear_schedule
from ._tokenizer import CLS_ID, MASK_ID, MAX_KMERS, SEP_ID, SPECIAL_TOKENS, UNK_ID, KmerTokenizer

#: Named architectures. "mini" is the embedded model's; "base" is DNABERT's published size.
CONFIGS = {
    "mini": {"hidden_size": 256, "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 1024},
    "base": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072},
}
MASK_PROBABILITY = 0.15
#: A training window may hold at most this fraction of [UNK] k-mers (long N runs are skipped).
MAX_UNKNOWN_FRACTION = 0.05
STATE_FILE = "training_state.pt"
CHECKPOINT = "checkpoint"


class Corpus:
    """Token ids of a set of sequences, back to back, with random window sampling."""

    def __init__(self, tokenizer: KmerTokenizer, sequences: list[str], ids: list):
        token_ids, offsets = tokenizer.kmer_ids(sequences, ids)
        self.token_ids = token_ids.astype(np.int16)
        self.offsets = offsets
        self._unknown_prefix = np.concatenate([[0], np.cumsum(self.token_ids == UNK_ID)])

    def __len__(self) -> int:
        return int(self.offsets[-1])

    @classmethod
    def _from_arrays(cls, token_ids: np.ndarray, offsets: np.ndarray) -> "Corpus":
        corpus = cls.__new__(cls)
        corpus.token_ids, corpus.offsets = token_ids, offsets
        corpus._unknown_prefix = np.concatenate([[0], np.cumsum(token_ids == UNK_ID)])
        return corpus

    def split(self, fraction: float) -> tuple["Corpus", "Corpus"]:
        """Cut at ``fraction`` of all tokens: (everything before, everything after) the cut."""
        cut = int(len(self) * fraction)
        head = self._from_arrays(self.token_ids[:cut], np.minimum(self.offsets, cut))
        tail = self._from_arrays(self.token_ids[cut:], np.array([0, len(self) - cut]))
        return head, tail

    def sample(self, rng: np.random.Generator, n: int, n_kmers: int) -> np.ndarray:
        """``n`` random windows of ``n_kmers`` tokens, uniform over all start positions, few [UNK]."""
        lengths = np.diff(self.offsets)
        starts_per_record = np.maximum(lengths - n_kmers + 1, 0)
        total = int(starts_per_record.sum())
        if total == 0:
            raise InputFormatError(
                f"No corpus sequence holds a window of {n_kmers + 5} nt; lower max_length or add longer sequences."
            )
        cumulative = np.cumsum(starts_per_record)
        chosen: list[np.ndarray] = []
        for _ in range(100):
            draws = rng.integers(total, size=2 * n)
            record = np.searchsorted(cumulative, draws, side="right")
            starts = self.offsets[record] + draws - (cumulative[record] - starts_per_record[record])
            unknown = self._unknown_prefix[starts + n_kmers] - self._unknown_prefix[starts]
            chosen.append(starts[unknown <= MAX_UNKNOWN_FRACTION * n_kmers])
            if sum(map(len, chosen)) >= n:
                break
        else:
            raise InputFormatError("Almost every window of the corpus is mostly N; give sequences with real bases.")
        starts = np.concatenate(chosen)[:n]
        return self.token_ids[starts[:, None] + np.arange(n_kmers)].astype(np.int64)


def mask_tokens(
    kmer_ids: np.ndarray, rng: np.random.Generator, k: int, vocab_size: int, probability: float = MASK_PROBABILITY
) -> tuple[np.ndarray, np.ndarray]:
    """DNABERT masking: contiguous spans of k k-mers, ~``probability`` of tokens, 80/10/10 replacement.

    Parameters
    ----------
    kmer_ids
        (batch, n_kmers) token ids without specials.
    rng
        Random generator (advanced in place).
    k
        Span length in tokens (the k-mer size: a span of k tokens hides a whole nucleotide).
    vocab_size
        For the random-replacement tokens.

    Returns
    -------
    input_ids : ndarray (batch, n_kmers + 2)
        ``[CLS]`` masked ids ``[SEP]``.
    labels : ndarray (batch, n_kmers + 2)
        The original id at masked positions (not [UNK] ones), -100 elsewhere.
    """
    batch, length = kmer_ids.shape
    start_probability = 1 - (1 - probability) ** (1 / k)  # so that a token is covered with `probability`
    starts = rng.random((batch, length)) < start_probability
    masked = np.zeros_like(starts)
    for shift in range(k):
        masked[:, shift:] |= starts[:, : length - shift]
    labels = np.where(masked & (kmer_ids != UNK_ID), kmer_ids, -100)
    draw = rng.random((batch, length))
    random_ids = rng.integers(len(SPECIAL_TOKENS), vocab_size, size=(batch, length))
    inputs = np.where(masked & (draw < 0.8), MASK_ID, kmer_ids)
    inputs = np.where(masked & (draw >= 0.8) & (draw < 0.9), random_ids, inputs)
    cls, sep, ignore = (np.full((batch, 1), value) for value in (CLS_ID, SEP_ID, -100))
    return np.hstack([cls, inputs, sep]), np.hstack([ignore, labels, ignore])


def masked_lm_step(
    network: BertForMaskedLM, input_ids: torch.Tensor, labels: torch.Tensor, cls_summary: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Loss over masked positions only: the vocabulary-wide decoder runs on those rows alone.

    With ``cls_summary`` > 0 the loss adds that weight times :func:`cls_summary_loss`.

    Returns
    -------
    loss, n_correct, n_masked : Tensors (scalars)
    """
    hidden = network.bert(input_ids=input_ids).last_hidden_state
    chosen = labels != -100
    logits = network.cls(hidden[chosen]).float()
    targets = labels[chosen]
    loss = F.cross_entropy(logits, targets)
    if cls_summary:
        loss = loss + cls_summary * cls_summary_loss(hidden)
    return loss, (logits.argmax(dim=-1) == targets).sum(), chosen.sum()


def cls_summary_loss(hidden: torch.Tensor) -> torch.Tensor:
    """Mean squared distance of each window's [CLS] output from the mean of its k-mer outputs.

    The mean is a fixed target (no gradient): only [CLS] moves towards it. Masked-LM training alone
    never trains [CLS], and a classification head on an untrained [CLS] fine-tunes poorly; this
    term makes [CLS] start as a summary of the whole window. Windows are unpadded: [CLS] k-mers [SEP].
    """
    summary = hidden[:, 1:-1].float().mean(dim=1).detach()
    return F.mse_loss(hidden[:, 0].float(), summary)


class MaskedLMObjective(torch.nn.Module):
    """:func:`masked_lm_step` as a module, so that data-parallel wrappers see its forward pass."""

    def __init__(self, network: BertForMaskedLM, cls_summary: float = 0.0):
        super().__init__()
        self.network = network
        self.cls_summary = cls_summary

    def forward(self, input_ids: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return masked_lm_step(self.network, input_ids, labels, self.cls_summary)


def _as_corpus(tokenizer: KmerTokenizer, corpus: object, what: str) -> Corpus:
    """Accept FASTA paths, sequences, DataFrames or GenomeRecord iterators as a corpus."""
    if isinstance(corpus, (str, os.PathLike)) or hasattr(corpus, "columns"):
        table = as_sequence_table(corpus)
        return Corpus(tokenizer, table.sequences, table.ids)
    ids, sequences = [], []
    for index, item in enumerate(corpus):
        if isinstance(item, tuple) and len(item) == 2:  # GenomeRecord or (id, sequence)
            ids.append(item[0])
            sequences.append(item[1])
        elif isinstance(item, (str, os.PathLike)) and Path(item).suffix.lower() in (".fa", ".fasta", ".fna", ".gz"):
            table = as_sequence_table(item)
            ids += table.ids
            sequences += table.sequences
        else:
            ids.append(index)
            sequences.append(item)
    if not sequences:
        raise InputFormatError(f"The {what} corpus is empty.")
    return Corpus(tokenizer, sequences, ids)


def kmer_aware_init(network: BertForMaskedLM, tokenizer: KmerTokenizer, seed: int) -> None:
    """Give a fresh network k-mer embeddings built from their nucleotides and sinusoidal positions.

    Each k-mer's embedding is the sum of one random vector per (offset, nucleotide), so k-mers
    that share nucleotides at the same offsets start close and the (tied) output layer starts
    out scoring nucleotides offset by offset; position embeddings start as the sinusoids of
    Vaswani et al., so attending to a fixed neighbour is easy to learn. Both stay trainable and
    keep BERT's scale (std = initializer_range); special tokens keep BERT's random init.
    """
    generator = torch.Generator().manual_seed(seed)
    width = network.config.hidden_size
    scale = network.config.initializer_range
    parts = torch.randn(tokenizer.k, 4, width, generator=generator) * scale / tokenizer.k**0.5
    kmers = tokenizer.tokens[len(SPECIAL_TOKENS):]
    codes = torch.tensor([["ACGT".index(base) for base in kmer] for kmer in kmers])
    positions = torch.arange(network.config.max_position_embeddings, dtype=torch.float32)[:, None]
    frequencies = torch.exp(-np.log(10000.0) * torch.arange(0, width, 2, dtype=torch.float32) / width)
    sinusoids = torch.stack([torch.sin(positions * frequencies), torch.cos(positions * frequencies)], dim=-1)
    sinusoids = sinusoids.reshape(len(positions), width)
    with torch.no_grad():
        network.bert.embeddings.word_embeddings.weight[len(SPECIAL_TOKENS):] = parts[torch.arange(tokenizer.k), codes].sum(1)
        network.bert.embeddings.position_embeddings.weight.copy_(sinusoids * scale / sinusoids.std())


def _starting_network(init: object, sizes: dict, tokenizer: KmerTokenizer, seed: int) -> BertForMaskedLM:
    """A fresh k-mer-aware network of ``sizes``, or a masked-LM copy of ``init``'s encoder."""
    if init is None:
        network = BertForMaskedLM(BertConfig(vocab_size=tokenizer.vocab_size, max_position_embeddings=512, **sizes))
        kmer_aware_init(network, tokenizer, seed)
        return network
    start = init if isinstance(init, DNABERTModel) else load(init, device="cpu")
    if start.k != tokenizer.k:
        raise InputFormatError(f"init is a {start.k}-mer model but k = {tokenizer.k}; give the same k.")
    network = BertForMaskedLM(copy.deepcopy(start.config))
    state = {name: value for name, value in start.network.state_dict().items() if not name.startswith("classifier.")}
    network.load_state_dict(state, strict=False)  # a model without a masked-LM head gets BERT's initial one
    return network


def _settings_of(**settings) -> dict:
    return json.loads(json.dumps(settings, default=str))


def pretrain(
    corpus: Iterable | str | os.PathLike,
    *,
    k: int = 6,
    config: str | dict = "mini",
    init: "DNABERTModel | str | os.PathLike | None" = None,
    mask_span: int | None = None,
    cls_summary: float = 0.0,
    max_length: int = 512,
    steps: int = 1000,
    batch_size: int = 16,
    lr: float = 5e-4,
    warmup: float = 0.05,
    weight_decay: float = 0.01,
    valid: Iterable | str | os.PathLike | None = None,
    eval_every: int = 200,
    eval_windows: int = 64,
    log_every: int = 10,
    output_dir: str | os.PathLike | None = None,
    save_every: int = 500,
    resume: bool = True,
    seed: int = 0,
    precision: str = "auto",
    device: str | torch.device | None = None,
    progress: bool = True,
) -> DNABERTModel:
    """Pre-train a DNABERT masked language model (fresh or continued) with DNABERT's k-span masking.

    Parameters
    ----------
    corpus
        Training DNA: a FASTA path, a list of sequences or FASTA paths, a DataFrame with
        ``sequence``, or records from :func:`dnabert_nb.datasets.genome`. Windows are drawn
        uniformly over all positions; windows with more than 5% [UNK] (N runs) are skipped.
    k
        k-mer size of the tokenizer (3-6).
    config
        ``"mini"`` (hidden 256, 4 layers, 4 heads), ``"base"`` (DNABERT's BERT-base) or a dict
        of BertConfig fields. A fresh model starts from :func:`kmer_aware_init`.
    init
        Continue pre-training this model (a DNABERTModel or anything :func:`load` takes)
        instead of starting fresh; ``config`` is then ignored.
    mask_span
        Tokens per masked span (default ``k``: DNABERT's masking, which hides whole
        nucleotides). ``1`` masks single k-mers, which their neighbours give away: a quick
        first stage that teaches a fresh model to read its neighbours.
    cls_summary
        Weight of :func:`cls_summary_loss`, which pulls the [CLS] output towards the mean of
        the k-mer outputs (0: DNABERT's masked-LM loss alone). Classification heads read
        [CLS]; the embedded model's last stage uses 1.0 so that they start from a summary of
        the sequence. Training ``loss`` includes this term; ``valid_loss`` is masked-LM only.
    max_length
        Tokens per training window, [CLS] and [SEP] included (at most 512).
    steps, batch_size, lr, warmup, weight_decay
        ``batch_size`` windows per process and step (launched on several processes with
        ``accelerate launch``, each draws its own windows and gradients are averaged).
        AdamW with linear warm-up (``warmup`` steps, or a fraction of ``steps`` when < 1) and
        linear decay to zero.
    valid
        Held-out DNA for validation loss and masked-token accuracy; None holds out the last
        1% of ``corpus`` (by position) instead.
    eval_every, eval_windows
        Validate every this many steps on a fixed set of this many masked windows.
    log_every
        Steps per training row of the history.
    output_dir
        Where ``checkpoint/`` (a :func:`load`-able model plus the training state) is written
        atomically every ``save_every`` steps and at the end. With ``resume=True`` an existing
        checkpoint is continued: same schedule, same random state, so an interrupted run ends
        where an uninterrupted one would.
    seed
        Seeds initial weights, window sampling, masking and dropout.
    precision
        ``"auto"`` (bf16 autocast where fast), ``"fp32"``, ``"bf16"``.
    device, progress
        Where to train; show a progress bar.

    Returns
    -------
    DNABERTModel
        The masked-LM model, with ``.history``: a DataFrame by step with ``loss``,
        ``masked_accuracy``, ``tokens_per_s``, ``lr`` and, at validation steps,
        ``valid_loss`` and ``valid_accuracy``.
    """
    if not 8 <= max_length <= MAX_KMERS + 2:
        raise InputFormatError(f"max_length = {max_length}; use 8 to {MAX_KMERS + 2} tokens.")
    require_positive_integers(steps=steps, batch_size=batch_size, eval_every=eval_every, log_every=log_every,
                              save_every=save_every)
    sizes = {} if init is not None else CONFIGS.get(config) if isinstance(config, str) else dict(config)
    if sizes is None:
        raise InputFormatError(f"config = {config!r}; use 'mini', 'base' or a dict of BertConfig fields.")
    tokenizer = KmerTokenizer(k)
    span = k if mask_span is None else mask_span
    require_positive_integers(mask_span=span)
    if not cls_summary >= 0:
        raise InputFormatError(f"cls_summary = {cls_summary}; use a weight of 0 (off) or more.")
    processes = Processes(resolve_device(device))
    device = processes.device
    dtype = resolve_precision(precision, device)
    n_kmers = max_length - 2
    warmup_steps = max(1, round(warmup * steps) if warmup < 1 else int(warmup))

    train_corpus = _as_corpus(tokenizer, corpus, "training")
    if valid is None:
        train_corpus, valid_corpus = train_corpus.split(0.99)
    else:
        valid_corpus = _as_corpus(tokenizer, valid, "validation")
    valid_rng = np.random.default_rng([seed, 1])
    valid_inputs, valid_labels = mask_tokens(
        valid_corpus.sample(valid_rng, eval_windows, n_kmers), valid_rng, span, tokenizer.vocab_size
    )

    init_name = None if init is None else getattr(init, "source", None) or str(init)
    settings = _settings_of(k=k, config=sizes, init=init_name, mask_span=span, cls_summary=cls_summary,
                            max_length=max_length, batch_size=batch_size, lr=lr, warmup=warmup_steps,
                            weight_decay=weight_decay, seed=seed, precision=str(dtype))
    checkpoint = Path(output_dir) / CHECKPOINT if output_dir is not None else None
    torch.manual_seed(seed)
    network = _starting_network(init, sizes, tokenizer, seed).to(device)
    if max_length > network.config.max_position_embeddings:
        raise InputFormatError(f"max_length = {max_length} but the init model has "
                               f"{network.config.max_position_embeddings} positions; use at most that many.")
    optimizer = torch.optim.AdamW(network.parameters(), lr=lr, weight_decay=weight_decay)
    scheduler = linear_schedule(optimizer, warmup_steps, steps)
    rng = np.random.default_rng([seed, 0, processes.rank])  # each process draws its own windows
    history: list[dict] = []
    step = 0
    if resume and checkpoint is not None and (checkpoint / STATE_FILE).is_file():
        state = torch.load(checkpoint / STATE_FILE, map_location="cpu", weights_only=True)
        check_resumable(state["settings"], settings, checkpoint)
        network.load_state_dict(load(checkpoint, device="cpu").network.state_dict())
        optimizer.load_state_dict(state["optimizer"])  # restores the learning rate of the next step too
        scheduler.load_state_dict(state["scheduler"])
        if len(state["torch_rng"]) != processes.world_size:
            raise InputFormatError(
                f"The checkpoint in {str(checkpoint)!r} was written by {len(state['torch_rng'])} processes; "
                f"resume it with as many (now {processes.world_size})."
            )
        rng.bit_generator.state = json.loads(state["numpy_rng"])[processes.rank]
        torch.set_rng_state(state["torch_rng"][processes.rank])
        history = json.loads(state["history"])
        step = int(state["step"])

    model = DNABERTModel(network, tokenizer, device=device, precision=precision, source="pretrain")
    objective = processes.wrap(MaskedLMObjective(network, cls_summary))

    def save() -> None:
        if checkpoint is None:
            return
        numpy_states = processes.gather(rng.bit_generator.state)
        torch_states = processes.gather(torch.get_rng_state())
        if not processes.is_main:
            processes.barrier()
            return
        with atomic_folder(checkpoint) as staging:
            model.write_files(staging)
            torch.save(
                {
                    "settings": settings,
                    "step": step,
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "numpy_rng": json.dumps(numpy_states),
                    "torch_rng": torch_states,
                    "history": json.dumps(history),
                },
                staging / STATE_FILE,
            )
        processes.barrier()

    def validate() -> tuple[float, float]:
        network.eval()
        total_loss = correct = count = 0
        with torch.inference_mode(), torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
            for first in range(0, eval_windows, batch_size):
                ids = torch.from_numpy(valid_inputs[first : first + batch_size]).to(device)
                labels = torch.from_numpy(valid_labels[first : first + batch_size]).to(device)
                loss, hits, masked = masked_lm_step(network, ids, labels)
                total_loss += float(loss) * int(masked)
                correct += int(hits)
                count += int(masked)
        network.train()
        return total_loss / count, correct / count

    network.train()
    window = {"loss": 0.0, "correct": 0, "masked": 0, "tokens": 0, "started": time.perf_counter()}
    show = progress and processes.is_main
    with tqdm(total=steps, initial=step, desc="pretrain", unit="step", disable=not show) as bar:
        while step < steps:
            inputs, labels = mask_tokens(train_corpus.sample(rng, batch_size, n_kmers), rng, span, tokenizer.vocab_size)
            inputs, labels = torch.from_numpy(inputs).to(device), torch.from_numpy(labels).to(device)
            with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
                loss, hits, masked = objective(inputs, labels)
            apply_gradients(loss, network.parameters(), optimizer, scheduler)
            step += 1
            window["loss"] += float(loss.detach()) * int(masked)
            window["correct"] += int(hits)
            window["masked"] += int(masked)
            window["tokens"] += inputs.numel()
            row = None
            if step % log_every == 0 or step == steps:
                elapsed = time.perf_counter() - window["started"]
                loss_sum, correct, count, tokens = processes.sum(
                    [window["loss"], window["correct"], window["masked"], window["tokens"]]
                )
                row = {
                    "step": step,
                    "loss": loss_sum / count,
                    "masked_accuracy": correct / count,
                    "tokens_per_s": tokens / elapsed,
                    "lr": scheduler.get_last_lr()[0],
                }
                window = {"loss": 0.0, "correct": 0, "masked": 0, "tokens": 0, "started": time.perf_counter()}
            if step % eval_every == 0 or step == steps:
                row = row or {"step": step}
                row["valid_loss"], row["valid_accuracy"] = validate()
            if row is not None:
                history.append(row)
                bar.set_postfix({key: f"{value:.3g}" for key, value in row.items() if key != "step"})
            if step % save_every == 0 or step == steps:
                save()
            bar.update(1)
    network.eval()
    model.history = pd.DataFrame(history)
    return model
