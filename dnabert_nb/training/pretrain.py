"""pretrain: masked-language-model pre-training with DNABERT's k-span masking, through the one training loop."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import torch
from transformers import BertConfig, BertForMaskedLM

from .._docs import shared_docs
from ..core.model import DNABERTModel, load
from ..core.processes import Processes
from ..core.runtime import resolve_device, resolve_precision
from ..core.tokenizer import MAX_KMERS, SPECIAL_TOKENS, KmerTokenizer
from ..dna.errors import InputFormatError, require_positive_integers, require_positive_numbers
from . import loop
from .callbacks import Callback
from .corpus import Corpus, as_corpus
from .masking import MaskedLMObjective, mask_tokens, masked_lm_step

#: Named architectures. "mini" is the embedded model's; "base" is DNABERT's published size.
CONFIGS = {
    "mini": {"hidden_size": 256, "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 1024},
    "base": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072},
}

#: Position embeddings of a fresh network (DNABERT's 512): enough for any window pretrain trains on.
FRESH_POSITIONS = 512


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
    kmers = tokenizer.tokens[len(SPECIAL_TOKENS) :]
    codes = torch.tensor([["ACGT".index(base) for base in kmer] for kmer in kmers])
    with torch.no_grad():
        network.bert.embeddings.word_embeddings.weight[len(SPECIAL_TOKENS) :] = parts[
            torch.arange(tokenizer.k), codes
        ].sum(1)
        network.bert.embeddings.position_embeddings.weight.copy_(
            sinusoid_positions(network.config.max_position_embeddings, width, scale)
        )


def sinusoid_positions(count: int, width: int, scale: float) -> torch.Tensor:
    """The first ``count`` sinusoid position vectors of Vaswani et al., shape (count, width), of std ``scale``."""
    positions = torch.arange(count, dtype=torch.float32)[:, None]
    frequencies = torch.exp(-np.log(10000.0) * torch.arange(0, width, 2, dtype=torch.float32) / width)
    sinusoids = torch.stack([torch.sin(positions * frequencies), torch.cos(positions * frequencies)], dim=-1)
    sinusoids = sinusoids.reshape(count, width)
    return sinusoids * scale / sinusoids.std()


def starting_network(init: object, sizes: dict, tokenizer: KmerTokenizer, seed: int) -> BertForMaskedLM:
    """A fresh k-mer-aware network of ``sizes``, or a masked-LM copy of ``init``'s encoder."""
    if init is None:
        config = BertConfig(vocab_size=tokenizer.vocab_size, max_position_embeddings=FRESH_POSITIONS, **sizes)
        network = BertForMaskedLM(config)
        kmer_aware_init(network, tokenizer, seed)
        return network
    start = init if isinstance(init, DNABERTModel) else load(init, device="cpu")
    if start.k != tokenizer.k:
        raise InputFormatError(f"init is a {start.k}-mer model but k = {tokenizer.k}; give the same k.")
    network = BertForMaskedLM(copy.deepcopy(start.config))
    state = {name: value for name, value in start.network.state_dict().items() if not name.startswith("classifier.")}
    network.load_state_dict(state, strict=False)  # a model without a masked-LM head gets BERT's initial one
    return network


class PretrainJob(loop.TrainingJob):
    """Masked-LM pre-training as the loop sees it: random masked windows, the masked-only loss, validation."""

    description, shown_metric = "pretrain", "accuracy"

    def __init__(
        self,
        model: DNABERTModel,
        corpus: Corpus,
        validation: tuple[np.ndarray, np.ndarray],
        *,
        batch_size: int,
        n_kmers: int,
        span: int,
        cls_summary: float,
        dtype: torch.dtype,
        seed: int,
        processes: Processes,
    ):
        self.result, self.trainable, self.corpus, self.validation = model, model.network, corpus, validation
        self.batch_size, self.n_kmers, self.span, self.dtype, self.processes = (
            batch_size,
            n_kmers,
            span,
            dtype,
            processes,
        )
        self.objective = processes.wrap(MaskedLMObjective(model.network, cls_summary))
        self.rng = np.random.default_rng([seed, 0, processes.rank])  # each process draws its own windows

    def _on_device(self, *arrays: np.ndarray) -> list[torch.Tensor]:
        return [torch.from_numpy(array).to(self.processes.device) for array in arrays]

    def loss(self, step: int) -> tuple[torch.Tensor, dict[str, float]]:
        windows = self.corpus.sample(self.rng, self.batch_size, self.n_kmers)
        inputs, labels = self._on_device(*mask_tokens(windows, self.rng, self.span, self.result.tokenizer.vocab_size))
        with torch.autocast(inputs.device.type, dtype=self.dtype, enabled=self.dtype != torch.float32):
            loss, hits, masked = self.objective(inputs, labels)
        return loss, {
            "loss": float(loss.detach()) * int(masked),
            "correct": int(hits),
            "masked": int(masked),
            "tokens": inputs.numel(),
        }

    def log_row(self, totals: dict[str, float], seconds: float) -> dict[str, float]:
        return {
            "loss": totals["loss"] / totals["masked"],
            "masked_accuracy": totals["correct"] / totals["masked"],
            "tokens_per_s": totals["tokens"] / seconds,
        }

    def evaluate(self) -> dict[str, float]:
        total_loss = correct = count = 0
        inputs, labels = self.validation
        with (
            torch.inference_mode(),
            torch.autocast(self.processes.device.type, dtype=self.dtype, enabled=self.dtype != torch.float32),
        ):
            for first in range(0, len(inputs), self.batch_size):
                ids, targets = self._on_device(
                    inputs[first : first + self.batch_size], labels[first : first + self.batch_size]
                )
                loss, hits, masked = masked_lm_step(self.trainable, ids, targets)
                total_loss, correct, count = (
                    total_loss + float(loss) * int(masked),
                    correct + int(hits),
                    count + int(masked),
                )
        return {"loss": total_loss / count, "accuracy": correct / count}

    def model(self) -> DNABERTModel:
        return self.result

    def restore(self, saved: DNABERTModel, extra: dict) -> None:
        super().restore(saved, extra)
        self.rng.bit_generator.state = json.loads(extra["numpy_rng"])

    def extra_state(self) -> dict:
        return {"numpy_rng": json.dumps(self.rng.bit_generator.state)}


@shared_docs
def pretrain(
    corpus: Corpus | Iterable | str | os.PathLike,
    *,
    k: int = 6,
    config: str | dict = "mini",
    init: DNABERTModel | str | os.PathLike | None = None,
    mask_span: int | None = None,
    cls_summary: float = 0.0,
    max_length: int = 512,
    steps: int = 1000,
    batch_size: int = 16,
    lr: float = 5e-4,
    warmup: float = 0.05,
    weight_decay: float = 0.01,
    valid: Corpus | Iterable | str | os.PathLike | None = None,
    eval_every: int = 200,
    eval_windows: int = 64,
    seed: int = 0,
    precision: str | None = None,
    device: str | torch.device | None = None,
    output_dir: str | os.PathLike | None = None,
    save_every: int | None = None,
    resume: bool = False,
    log_every: int = 20,
    progress: bool = True,
    callbacks: Sequence[Callback] = (),
) -> DNABERTModel:
    """Pre-train a DNABERT masked language model (fresh or continued) with DNABERT's k-span masking.

    Parameters
    ----------
    corpus
        Training DNA: a FASTA path, a list of sequences or FASTA paths, a DataFrame with
        ``sequence``, or records from :func:`dnabert_nb.datasets.genome`. Windows are drawn
        uniformly over all positions; windows with more than 5% [UNK] (N runs) are skipped.
        A :class:`~dnabert_nb.training.corpus.Corpus` built once can be given to several calls
        (stages), so that a large corpus is tokenised only once.
    k
        k-mer size of the tokenizer (3-6).
    config
        ``"mini"`` (hidden 256, 4 layers, 4 heads), ``"base"`` (DNABERT's BERT-base) or a dict
        of BertConfig fields. A fresh model starts from :func:`kmer_aware_init`.
    init
        Continue pre-training this model (a DNABERTModel or anything :func:`dnabert_nb.load` takes)
        instead of starting fresh; ``config`` is then ignored.
    mask_span
        Tokens per masked span (default ``k``: DNABERT's masking, which hides whole
        nucleotides). ``1`` masks single k-mers, which their neighbours give away: a quick
        first stage that teaches a fresh model to read its neighbours.
    cls_summary
        Weight of :func:`~dnabert_nb.training.masking.cls_summary_loss`, which pulls the [CLS] output
        towards the mean of the k-mer outputs (0: DNABERT's masked-LM loss alone). Classification heads
        read [CLS]; the embedded model's last stage uses 1.0 so that they start from a summary of the
        sequence. Training ``loss`` includes this term; ``valid_loss`` is masked-LM only.
    max_length
        Tokens per training window, [CLS] and [SEP] included (at most 512).
    steps, batch_size, lr, warmup, weight_decay
        ``batch_size`` windows per process and step (launched on several processes with
        ``accelerate launch``, each draws its own windows and gradients are averaged).
        AdamW with linear warm-up (``warmup``: a fraction of ``steps`` when < 1, else a number of
        steps) and linear decay to zero.
    valid
        Held-out DNA for validation loss and masked-token accuracy; None holds out the last
        1% of ``corpus`` (by position) instead.
    eval_every, eval_windows
        Validate every this many steps (and at the last) on a fixed set of this many masked windows.
    {seed}
        Here: the initial weights, window sampling, masking and dropout.
    {precision}
        Without a model to take it from, None is ``"auto"``.
    device
        Where to train: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...; None picks a GPU when there is one.
    {output_dir}
        Pre-training has no ``best/``.
    save_every
        Also write ``last/`` every this many steps (None: at validations only).
    {resume}
    {log_every}
    {progress}
    {callbacks}

    Returns
    -------
    DNABERTModel
        The masked-LM model, with ``.history``: a DataFrame by step with ``loss``,
        ``masked_accuracy``, ``tokens_per_s``, ``lr`` and, at validation steps,
        ``valid_loss`` and ``valid_accuracy``.
    """
    if not 8 <= max_length <= MAX_KMERS + 2:
        raise InputFormatError(f"max_length = {max_length}; use 8 to {MAX_KMERS + 2} tokens.")
    span = k if mask_span is None else mask_span
    require_positive_integers(
        steps=steps, batch_size=batch_size, eval_every=eval_every, log_every=log_every, mask_span=span
    )
    sizes = {} if init is not None else CONFIGS.get(config) if isinstance(config, str) else dict(config)
    if sizes is None:
        raise InputFormatError(f"config = {config!r}; use 'mini', 'base' or a dict of BertConfig fields.")
    require_positive_numbers(lr=lr)
    output_dir = loop.check_output_dir(output_dir, resume)
    if not cls_summary >= 0:
        raise InputFormatError(f"cls_summary = {cls_summary}; use a weight of 0 (off) or more.")
    tokenizer = KmerTokenizer(k)
    processes = Processes(resolve_device(device))
    dtype = resolve_precision(precision or "auto", processes.device, training=True)
    train_corpus = as_corpus(tokenizer, corpus, "training")
    train_corpus, valid_corpus = (
        train_corpus.split(0.99) if valid is None else (train_corpus, as_corpus(tokenizer, valid, "validation"))
    )
    valid_rng = np.random.default_rng([seed, 1])
    validation = mask_tokens(
        valid_corpus.sample(valid_rng, eval_windows, max_length - 2), valid_rng, span, tokenizer.vocab_size
    )

    torch.manual_seed(seed)
    network = starting_network(init, sizes, tokenizer, seed).to(processes.device)
    if max_length > network.config.max_position_embeddings:
        raise InputFormatError(
            f"max_length = {max_length} but the init model has "
            f"{network.config.max_position_embeddings} positions; use at most that many."
        )
    model = DNABERTModel(network, tokenizer, device=processes.device, precision=precision or "auto", source="pretrain")
    job = PretrainJob(
        model,
        train_corpus,
        validation,
        batch_size=batch_size,
        n_kmers=max_length - 2,
        span=span,
        cls_summary=cls_summary,
        dtype=dtype,
        seed=seed,
        processes=processes,
    )
    optimizer = torch.optim.AdamW(network.parameters(), lr=lr, weight_decay=weight_decay)
    n_warmup = loop.warmup_steps(warmup, steps)
    init_name = None if init is None else getattr(init, "source", None) or str(init)
    settings = loop.as_settings(
        k=k,
        config=sizes,
        init=init_name,
        mask_span=span,
        cls_summary=cls_summary,
        max_length=max_length,
        batch_size=batch_size,
        lr=lr,
        warmup=n_warmup,
        weight_decay=weight_decay,
        seed=seed,
        precision=str(dtype),
        data=loop.fingerprint(train_corpus.token_ids, train_corpus.offsets),
    )
    outcome = loop.run(
        job,
        optimizer=optimizer,
        scheduler=loop.linear_schedule(optimizer, n_warmup, steps),
        total_steps=steps,
        steps_per_epoch=None,
        schedule=loop.Schedule(log_every, eval_every, save_every),
        settings=settings,
        processes=processes,
        output_dir=output_dir,
        resume=resume,
        callbacks=callbacks,
        progress=progress,
    )
    network.eval()
    model.history = pd.DataFrame(outcome.state.history)
    return model
