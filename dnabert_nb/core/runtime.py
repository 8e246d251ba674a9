"""Where and in which precision the model runs."""

from __future__ import annotations

import warnings

import torch

from ..dna.errors import InputFormatError

PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
#: Inference only, on the CPU: the encoder's linear layers multiply int8 weights (one scale per output row) with
#: activations quantised on the fly; everything else stays fp32.
INFERENCE_PRECISIONS = {**PRECISIONS, "int8": torch.qint8}


def resolve_device(device: str | torch.device | None) -> torch.device:
    """Pick the device: the one given, else the first CUDA GPU, else the CPU."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise InputFormatError(
            f"device = {device!r} is not a torch device; use 'cpu', 'cuda', 'cuda:1' or None (auto)."
        ) from error
    if chosen.type == "cuda":
        available = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if available == 0 or (chosen.index or 0) >= available:
            raise InputFormatError(
                f"device = {device!r}, but this machine has {available} CUDA GPU(s) usable by this torch "
                f"({torch.__version__}); use device='cpu', or None to pick a GPU only where there is one."
            )
    return chosen


def cpu_has_fast_bf16() -> bool:
    """True when the CPU multiplies bf16 natively (AVX512-BF16 or AMX), so bf16 beats fp32."""
    return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def resolve_precision(precision: str, device: torch.device, *, training: bool = False) -> torch.dtype:
    """Turn ``"auto" | "fp32" | "bf16" | "fp16"`` (and, outside ``training``, ``"int8"``) into a dtype for ``device``.

    ``"auto"`` is bf16 on a GPU that supports it (else fp16) and on a CPU with
    native bf16 arithmetic; fp32 everywhere else. ``"int8"`` gives ``torch.qint8``: see :func:`quantise_encoder`.
    """
    if precision == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        if device.type == "cpu" and cpu_has_fast_bf16():
            return torch.bfloat16
        return torch.float32
    if precision == "int8":
        if training:
            raise InputFormatError(
                "precision = 'int8' is for running a model (predict, embed, scan, maps), not for training; "
                "train with 'auto', 'fp32' or 'bf16'."
            )
        if device.type != "cpu":
            raise InputFormatError(
                f"precision = 'int8' runs on the CPU only (torch's dynamic quantisation); on {device} use 'auto'."
            )
    choices = PRECISIONS if training else INFERENCE_PRECISIONS
    if precision not in choices:
        raise InputFormatError(f"precision = {precision!r} is not one of 'auto', {', '.join(map(repr, choices))}.")
    return choices[precision]


def training_precision(precision: str | None, model_precision: str) -> str:
    """The precision a training run uses: ``precision``, else the model's own, where a model loaded for int8
    inference trains in ``"auto"``."""
    return precision or ("auto" if model_precision == "int8" else model_precision)


def quantise_encoder(network: torch.nn.Module) -> torch.nn.Module:
    """Turn ``network``'s encoder linear layers into int8 ones (torch's dynamic quantisation, fbgemm kernels), in
    place, and return it in eval mode.

    Embeddings, LayerNorms, the pooler and the head stay fp32, so heads read their weights as they are. The
    result is for inference only (no gradients). Torch marks its eager quantisation API as deprecated in favour of
    torchao, whose int8 path needs ``torch.compile`` to be fast on a CPU; torch is pinned, and the warnings are
    silenced here.
    """
    network = network.float().eval()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(torch.ao.quantization|quantize_per_tensor).*")
        network.bert.encoder = torch.ao.quantization.quantize_dynamic(
            network.bert.encoder, {torch.nn.Linear}, dtype=torch.qint8
        )
    return network
