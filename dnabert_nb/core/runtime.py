"""Where and in which floating-point precision the model runs."""

from __future__ import annotations

import torch

from .errors import InputFormatError

PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


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


def resolve_precision(precision: str, device: torch.device) -> torch.dtype:
    """Turn ``"auto" | "fp32" | "bf16" | "fp16"`` into a dtype for ``device``.

    ``"auto"`` is bf16 on a GPU that supports it (else fp16) and on a CPU with
    native bf16 arithmetic; fp32 everywhere else.
    """
    if precision == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        if device.type == "cpu" and cpu_has_fast_bf16():
            return torch.bfloat16
        return torch.float32
    if precision not in PRECISIONS:
        raise InputFormatError(f"precision = {precision!r} is not one of 'auto', {', '.join(map(repr, PRECISIONS))}.")
    return PRECISIONS[precision]
