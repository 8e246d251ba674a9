"""The network finetune trains: the model's own head where it fits the task, else a new mean-pooled one; LoRA."""

from __future__ import annotations

import copy

import torch
from transformers import BertForSequenceClassification

from ..core.kmer_blend import attach
from ..core.model import NEW_HEAD_POOLING, DNABERTModel
from ..dna.errors import (
    MissingDependencyError,
    ModelTaskError,
)
from .targets import PROBLEM_TYPES


def task_network(model: DNABERTModel, task: str, names: list[str], seed: int) -> BertForSequenceClassification:
    """A copy of the model's network if its head fits the task; else its encoder under a new (mean-pooled) head. A
    k-mer blend (:mod:`dnabert_nb.core.kmer_blend`) is left out: finetune trains the network and blends anew."""
    if model.task == task and model.labels == names:
        network = copy.deepcopy(model.network)
        attach(network, None)
        return network
    config = copy.deepcopy(model.config)
    config.classifier_pooling = NEW_HEAD_POOLING
    config.classifier_layers = None  # not a probe's choice of hidden states
    config.num_labels = len(names)
    config.id2label = dict(enumerate(names))
    config.label2id = {name: i for i, name in enumerate(names)}
    config.problem_type = PROBLEM_TYPES[task]
    config.architectures = [BertForSequenceClassification.__name__]
    torch.manual_seed(seed)
    network = BertForSequenceClassification(config)
    attach(network, None)
    missing, unexpected = network.bert.load_state_dict(model.encoder.state_dict(), strict=False)
    if [key for key in missing if not key.startswith("pooler.")] or unexpected:
        raise ModelTaskError(f"The encoder weights do not fit a classification network: {missing or unexpected}.")
    return network


def parameter_groups(network: torch.nn.Module, weight_decay: float) -> list[dict]:
    """AdamW groups: weight decay on weights, none on biases and LayerNorm."""
    decay, no_decay = [], []
    for name, parameter in network.named_parameters():
        if parameter.requires_grad:
            (no_decay if name.endswith("bias") or "LayerNorm" in name else decay).append(parameter)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def with_lora(network: BertForSequenceClassification, lora: object) -> torch.nn.Module:
    """``network`` with LoRA adapters on query, key and value (peft); head and pooler fully trained."""
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError as error:
        raise MissingDependencyError("lora= needs peft: pip install 'dnabert_nb[lora]'.") from error
    options = {"r": 8, "lora_alpha": 16, "lora_dropout": 0.1, "target_modules": ["query", "key", "value"]}
    options.update(lora if isinstance(lora, dict) else {})
    return get_peft_model(network, LoraConfig(modules_to_save=["classifier", "pooler"], **options))
