"""DNABERTModel: a transformers BERT network with its k-mer tokenizer and label names; load and save."""

from __future__ import annotations

import copy
import json
import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from safetensors import SafetensorError
from transformers import BertConfig, BertForMaskedLM, BertForSequenceClassification, BertModel, PreTrainedModel
from transformers.models.bert.modeling_bert import BertPooler
from transformers.utils import logging as hf_logging

from ..dna.errors import (
    CheckpointError,
    InputFormatError,
    ModelNotFoundError,
    OutputError,
    require_positive_integers,
)
from ..dna.folders import atomic_folder, write_checksums
from .checkpoint import WEIGHT_FILES, read_config, read_tokenizer, read_weights, resolve_folder
from .kmer_blend import MODULE_NAME as BLEND_MODULE
from .kmer_blend import attach, blend_from_config, blend_of, cast_network
from .runtime import quantise_encoder, resolve_device, resolve_precision
from .tokenizer import MAX_KMERS, SPECIAL_TOKENS, KmerTokenizer

if TYPE_CHECKING:
    from ..training.baseline import KmerBaseline

TASKS = {
    "single_label_classification": "classification",
    "multi_label_classification": "multilabel",
    "regression": "regression",
}


class UntrainedHeadWarning(UserWarning):
    """A task head was added with random weights; fine-tune before trusting its predictions."""


#: What the task head reads, as ``config.classifier_pooling``: the [CLS] vector (DNABERT's head), the mean of the
#: k-mer tokens' last-layer vectors, or the mean of their vectors averaged over every hidden state (embeddings and
#: each layer) or over those ``config.classifier_layers`` lists (``finetune``'s linear probe reads it,
#: the git history of BENCHMARKS.md).
HEAD_POOLINGS = ("cls", "mean", "layers_mean")
#: The heads that read a mean of k-mer token vectors (token contributions apply to them).
TOKEN_MEAN_POOLINGS = ("mean", "layers_mean")
#: What a new head reads when ``finetune`` adds one (level or better on every task: the git history of BENCHMARKS.md).
NEW_HEAD_POOLING = "mean"


def check_head_config(config: object, folder: Path) -> None:
    """Refuse a ``config.json`` whose head fields (``classifier_pooling``, ``classifier_layers``) this package cannot
    compute, before any weights are read."""
    pooling = getattr(config, "classifier_pooling", "cls")
    if pooling not in HEAD_POOLINGS:
        raise CheckpointError(
            f"config.json in {str(folder)!r} has classifier_pooling {pooling!r}; this package computes "
            f"{', '.join(map(repr, HEAD_POOLINGS))}. Check that the checkpoint was written by dnabert_nb or DNABERT."
        )
    layers = getattr(config, "classifier_layers", None)
    n_states = config.num_hidden_layers + 1
    valid = isinstance(layers, list) and layers and all(type(i) is int and 0 <= i < n_states for i in layers)
    if layers is not None and not valid:
        raise CheckpointError(
            f"config.json in {str(folder)!r} has classifier_layers {layers!r}; give null (every hidden state) or "
            f"a list of hidden-state numbers from 0 to {n_states - 1}."
        )


def head_pooling(network: torch.nn.Module) -> str:
    """One of :data:`HEAD_POOLINGS`: what the network's task head reads (``config.classifier_pooling``, default cls)."""
    return getattr(network.config, "classifier_pooling", "cls")


class DNABERTModel:
    """A DNABERT network, its tokenizer, label names and run settings, kept together.

    Build one with :func:`load`. The wrapped ``transformers`` model is ``.network``
    (``BertForSequenceClassification`` with a task head, ``BertForMaskedLM`` or
    ``BertModel`` without one); ``.encoder`` is its BERT encoder.

    Attributes
    ----------
    network : transformers.PreTrainedModel
    tokenizer : KmerTokenizer
    labels : list of str or None
        Class (or output) names, in head order; None without a task head.
    device : torch.device
    precision : str
        Default precision of ``predict`` / ``embed`` for this model.
    source : str
        Where the weights came from.
    history : pandas.DataFrame or None
        The training history by step (``finetune``, ``pretrain``); None for a loaded model.
    metrics : dict or None
        The scores of the evaluation that picked this model (``finetune``); None otherwise.
    baseline : KmerBaseline or None
        The k-mer baseline ``finetune`` fitted on the same data, to compare with (``evaluate(...,
        baseline=True)``); None otherwise. It is not saved with the model.
    checkpoint : pathlib.Path or None
        Where ``finetune`` saved this model under its ``output_dir`` (``best/``, ``restart-<n>/best/`` or
        ``linear-probe/``); None otherwise.
    training_digest : ndarray or None
        Hashes of the sequences ``finetune`` trained this model on, so that ``evaluate`` can say when test
        sequences are among them; None otherwise. Valid for this Python session only, and not saved.
    """

    def __init__(
        self,
        network: PreTrainedModel,
        tokenizer: KmerTokenizer,
        *,
        labels: Sequence[str] | None = None,
        device: torch.device | str | None = None,
        precision: str = "auto",
        source: str = "",
    ):
        self.network = network.eval()
        positions = min(network.config.max_position_embeddings, MAX_KMERS + 2)
        if tokenizer.max_kmers + 2 != positions:  # one model input holds what the network's positions allow
            tokenizer = KmerTokenizer(tokenizer.k, max_length=positions)
        self.tokenizer = tokenizer
        self.labels = list(labels) if labels is not None else None
        self.device = resolve_device(device)
        resolve_precision(precision, self.device)
        self.precision = precision
        self.source = source
        self.history: pd.DataFrame | None = None
        self.metrics: dict[str, float] | None = None
        self.baseline: KmerBaseline | None = None
        self.checkpoint: Path | None = None
        self.training_digest: np.ndarray | None = None
        self.network.to(self.device)
        self._low_precision: tuple[torch.dtype, torch.Tensor, PreTrainedModel] | None = None

    def __repr__(self) -> str:
        c = self.config
        head = f"task={self.task!r}, labels={self.labels}" if self.task else "no task head"
        if self.task and head_pooling(self.network) != "cls":
            head += f", pooling={head_pooling(self.network)!r}"
            if getattr(c, "classifier_layers", None) is not None:
                head += f", classifier_layers={c.classifier_layers}"
        blend = blend_of(self.network)
        if blend is not None:
            head += f", kmer_blend={{'share': {blend.share:g}, 'k': {blend.k}}}"
        return (
            f"DNABERTModel(k={self.k}, hidden={c.hidden_size}, layers={c.num_hidden_layers}, "
            f"heads={c.num_attention_heads}, {head}, device={str(self.device)!r}, source={self.source!r})"
        )

    @property
    def k(self) -> int:
        """k-mer length of the tokenizer."""
        return self.tokenizer.k

    @property
    def config(self) -> BertConfig:
        """The network's transformers config."""
        return self.network.config

    @property
    def encoder(self) -> BertModel:
        """The BERT encoder (embeddings + transformer layers) without any head."""
        return self.network.base_model

    @property
    def task(self) -> str | None:
        """``"classification"``, ``"multilabel"``, ``"regression"``, or None without a task head."""
        if not isinstance(self.network, BertForSequenceClassification):
            return None
        return TASKS[self.config.problem_type]

    def inference_network(self, dtype: torch.dtype) -> PreTrainedModel:
        """The network with weights in ``dtype`` for inference.

        fp32 returns ``.network`` itself. A lower precision (``torch.qint8``: int8 encoder linear layers, see
        :func:`~dnabert_nb.core.runtime.quantise_encoder`) returns a converted copy, cached
        and rebuilt whenever a weight of ``.network`` has changed since: the cache is keyed
        by the weights' content (a sum and a norm per tensor), so edits that
        autograd does not see (``param.data[...] = ...``) are caught as well. The copy shares
        ``.network``'s config, so a changed head setting (``classifier_pooling``) holds in every precision.
        """
        if dtype == torch.float32:
            return self.network
        key = self._weights_key()
        cached = self._low_precision
        if cached is None or cached[0] != dtype or not torch.equal(cached[1], key):
            shared_config = {id(self.network.config): self.network.config}
            cast = copy.deepcopy(self.network, memo=shared_config)
            cast = quantise_encoder(cast) if dtype == torch.qint8 else cast_network(cast, dtype).eval()
            self._low_precision = cached = (dtype, key, cast)
        return cached[2]

    def _weights_key(self) -> torch.Tensor:
        with torch.no_grad():
            buffers = [b for b in self.network.buffers() if b.is_floating_point()]  # a k-mer blend's weights
            weights = [w.detach() for w in [*self.network.parameters(), *buffers]]
            return torch.stack([torch.stack([w.sum(), torch.linalg.vector_norm(w)]) for w in weights]).float().cpu()

    def to(self, device: str | torch.device) -> DNABERTModel:
        """Move the model to ``device`` (in place) and return it."""
        self.device = resolve_device(device)
        self.network.to(self.device)
        self._low_precision = None
        return self

    def save(self, path: str | os.PathLike, *, dtype: torch.dtype | None = None, overwrite: bool = False) -> Path:
        """Write the model as a checkpoint folder and return its path.

        The folder holds ``config.json``, ``model.safetensors``, ``vocab.txt``, a
        tokenizer config with ``do_lower_case: false`` and ``checksums.sha256`` (which :func:`load`
        verifies); :func:`load` reads it, and so do
        ``transformers.AutoModel.from_pretrained`` and ``BertTokenizer.from_pretrained``.
        The folder is written next to its final place and moved there only when
        complete, so an interrupted save never leaves a half-written checkpoint.

        Parameters
        ----------
        path
            The checkpoint folder: made if missing; an existing model folder is replaced. A folder
            that holds other files too is refused (nothing is written), unless ``overwrite``.
        dtype
            Store the weights in this dtype (e.g. ``torch.float16`` to halve the size);
            None keeps the network's own.
        overwrite
            Save into a folder that holds other files: its model files are replaced, the others kept.

        Raises
        ------
        OutputError
            The folder cannot be written (no permission, a full disk); a model already there is unchanged.
        """
        try:
            with atomic_folder(path, overwrite=overwrite) as staging:
                self.write_files(staging, dtype=dtype)
        except (OSError, SafetensorError) as error:
            raise OutputError(
                f"Could not save the model in {str(path)!r} ({error}); a model already there is unchanged. Free some "
                "space or save elsewhere."
            ) from error
        return Path(path).expanduser()

    def write_files(self, folder: Path, *, dtype: torch.dtype | None = None) -> None:
        """Write the checkpoint files into an existing ``folder`` (use :meth:`save` for a safe write)."""
        network = self.network if dtype is None else copy.deepcopy(self.network).to(dtype)
        bars_were_on = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # one small file: transformers' shard bar is noise here
        try:
            network.save_pretrained(folder, safe_serialization=True)
        finally:
            if bars_were_on:
                hf_logging.enable_progress_bar()
        write_checksums(folder, WEIGHT_FILES)
        self.tokenizer.save_vocabulary(folder)
        tokenizer_config = {
            "tokenizer_class": "BertTokenizer",
            "do_lower_case": False,
            "model_max_length": self.tokenizer.max_kmers + 2,
        }
        (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2))
        special = dict(zip(("pad_token", "unk_token", "cls_token", "sep_token", "mask_token"), SPECIAL_TOKENS))
        (folder / "special_tokens_map.json").write_text(json.dumps(special, indent=2))


def _label_names(config: BertConfig) -> list[str]:
    """Label names from a config, with transformers' placeholder ``LABEL_i`` shown as ``i``."""
    names = [str(config.id2label[i]) for i in range(config.num_labels)]
    if all(re.fullmatch(rf"LABEL_{i}", name) for i, name in enumerate(names)):
        return [str(i) for i in range(config.num_labels)]
    return names


def _head_size(num_labels: int | None, labels: Sequence[str] | None) -> int | None:
    """Check ``num_labels`` and ``labels`` agree and return the head size they ask for."""
    if labels is None:
        if num_labels is not None:
            require_positive_integers(num_labels=num_labels)
        return num_labels
    if isinstance(labels, str) or len(labels) == 0:
        raise InputFormatError(f"labels = {labels!r}; give a list of class names, e.g. ['negative', 'positive'].")
    if len(set(map(str, labels))) != len(labels):
        raise InputFormatError(f"labels = {list(labels)!r} repeats a name; class names must be unique.")
    if num_labels is not None and num_labels != len(labels):
        raise InputFormatError(
            f"num_labels = {num_labels} but {len(labels)} labels were named; give one or make them agree."
        )
    return len(labels)


#: The pretrained DNABERT-6 model shipped inside the package (see its MODEL_CARD.md).
EMBEDDED_MODEL = Path(__file__).resolve().parent.parent / "models" / "dnabert-mini-6"


def load(
    path_or_id: str | os.PathLike | None = None,
    *,
    num_labels: int | None = None,
    labels: Sequence[str] | None = None,
    device: str | torch.device | None = None,
    precision: str = "auto",
) -> DNABERTModel:
    """Load a DNABERT checkpoint.

    Parameters
    ----------
    path_or_id
        None (the default) loads the embedded pretrained model ``dnabert-mini-6``, offline. The name of a
        ready task model (``dn.models()``, e.g. ``"mini6-splice"``) loads that one, offline.
        Otherwise a checkpoint folder in the official DNABERT format (``config.json``, ``vocab.txt``,
        ``pytorch_model.bin`` or ``model.safetensors``), or a hub id such as
        ``"zhihan1996/DNA_bert_6"`` when the hub is reachable. Custom-code fields of hub
        configs (``auto_map``, ``split``, ``rnn``...) are ignored; no remote code is run.
    num_labels, labels
        Ask for a sequence-classification head of this size / with these class names.
        A pre-trained (masked-LM) checkpoint gets a new, untrained head and one
        :class:`UntrainedHeadWarning`; a fine-tuned checkpoint keeps its head (``labels``
        renames its classes). ``num_labels=1`` is a regression head.
    device
        ``"cpu"``, ``"cuda"``, ``"cuda:1"``...; None picks a GPU when there is one.
    precision
        Default precision of ``predict``/``embed`` with this model: ``"auto"`` (bf16 where
        the hardware is fast at it), ``"fp32"``, ``"bf16"``, ``"fp16"``, or ``"int8"`` (CPU inference with int8
        encoder weights; training such a model runs in ``"auto"``).

    Returns
    -------
    DNABERTModel

    Raises
    ------
    ModelNotFoundError
        No such folder, and the hub id cannot be fetched (e.g. offline).
    CheckpointError
        Missing or inconsistent files, weights that do not fit the config, or an unsafe pickle.
    """
    head_size = _head_size(num_labels, labels)
    if path_or_id is None:
        if not (EMBEDDED_MODEL / "config.json").is_file():
            raise ModelNotFoundError(
                f"The embedded model is missing from this installation ({EMBEDDED_MODEL}); reinstall "
                "dnabert_nb, or pass a checkpoint folder: dn.load('path/to/DNA_bert_6')."
            )
        path_or_id = EMBEDDED_MODEL
    folder = resolve_folder(path_or_id)
    config = read_config(folder)
    check_head_config(config, folder)
    tokenizer = read_tokenizer(folder, config)
    state = read_weights(folder)

    network_class, state, new_parts = _network_for(state, config, head_size, labels)
    if network_class is BertForSequenceClassification and config.problem_type is None:
        config.problem_type = "regression" if config.num_labels == 1 else "single_label_classification"
    config.architectures = [network_class.__name__]

    blend = blend_from_config(config, str(folder))
    if blend is not None and (network_class is not BertForSequenceClassification or new_parts):
        state = {key: value for key, value in state.items() if not key.startswith(f"{BLEND_MODULE}.")}
        blend = None  # it blended the head that was replaced
    network = network_class(config)
    attach(network, blend)
    if network_class is BertForMaskedLM and "bert.pooler.dense.weight" in state:
        network.bert.pooler = BertPooler(config)  # kept, so a classifier built on it later starts from it
    try:
        missing, unexpected = network.load_state_dict(state, strict=False)
    except RuntimeError as error:
        raise CheckpointError(
            f"The weights in {str(folder)!r} do not fit its config.json: {str(error).splitlines()[-1].strip()}"
        ) from error
    tied = {"cls.predictions.decoder.weight", "cls.predictions.decoder.bias"}
    missing = [key for key in missing if key not in tied and not key.startswith("classifier.")]
    pooler = [key for key in missing if "pooler." in key]
    if pooler and "classifier" in new_parts:
        new_parts.append("pooler")
    if pooler and network_class is not BertForSequenceClassification or "pooler" in new_parts:
        missing = [key for key in missing if key not in pooler]  # unused, or announced as untrained
    unexpected = [key for key in unexpected if not key.startswith(("cls.", "classifier."))]
    if missing or unexpected:
        detail = "; ".join(
            f"{len(keys)} {what} (e.g. {keys[0]})"
            for what, keys in (("missing", missing), ("unexpected", unexpected))
            if keys
        )
        raise CheckpointError(
            f"The weights in {str(folder)!r} do not match its config.json: {detail}. "
            "Check that config.json belongs to these weights."
        )
    if new_parts:
        warnings.warn(
            f"The checkpoint {str(path_or_id)!r} has no trained {' or '.join(new_parts)} for this task: "
            f"a new {config.num_labels}-output head was added with random weights. "
            "Fine-tune the model (dn.finetune) before trusting its predictions.",
            UntrainedHeadWarning,
            stacklevel=2,
        )
    label_names = _label_names(config) if network_class is BertForSequenceClassification else None
    if labels is not None and network_class is BertForSequenceClassification:
        label_names = [str(name) for name in labels]
        config.id2label = dict(enumerate(label_names))
        config.label2id = {name: i for i, name in enumerate(label_names)}
    return DNABERTModel(
        network, tokenizer, labels=label_names, device=device, precision=precision, source=str(path_or_id)
    )


def _network_for(
    state: dict[str, torch.Tensor], config: BertConfig, head_size: int | None, labels: Sequence[str] | None
) -> tuple[type[PreTrainedModel], dict[str, torch.Tensor], list[str]]:
    """The network class for ``state`` and the head asked for, the state it loads (a replaced head dropped) and the
    parts it adds untrained (``"classifier"``); ``config`` is set to match."""
    saved_head = state.get("classifier.weight")
    saved_size = None if saved_head is None else saved_head.shape[0]
    if saved_head is not None and head_size in (None, saved_size):
        config.num_labels = saved_size
        return BertForSequenceClassification, state, []
    if head_size is not None:
        if saved_head is not None:
            state = {key: value for key, value in state.items() if not key.startswith("classifier.")}
        config.num_labels = head_size
        config.classifier_pooling = NEW_HEAD_POOLING  # a new head is finetune's: it reads the k-mer tokens' mean
        config.classifier_layers = None
        config.id2label = {i: str(name) for i, name in enumerate(labels or range(head_size))}
        config.label2id = {name: i for i, name in config.id2label.items()}
        config.problem_type = None
        return BertForSequenceClassification, state, ["classifier"]
    if any(key.startswith("cls.predictions.") for key in state):
        return BertForMaskedLM, state, []
    return BertModel, {key.removeprefix("bert."): value for key, value in state.items()}, []
