"""``model.int8.safetensors``: the large matrices of a model as int8 with one fp32 scale a row (the ready task
models: a quarter of the size, predictions within a few thousandths), read back to fp32."""

from __future__ import annotations

from pathlib import Path

import torch

from ..dna.errors import CheckpointError

#: Matrices with at least this many numbers are stored as int8 in ``model.int8.safetensors``; smaller ones as fp32.
INT8_MIN_SIZE = 65_536
#: Suffix of the per-row scales of an int8 matrix in that file.
INT8_SCALE = ".int8_scale"


def quantize_int8(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The tensors of ``state`` as ``model.int8.safetensors`` stores them.

    Floating matrices of at least :data:`INT8_MIN_SIZE` numbers become int8 with one fp32 scale a row (the row's
    largest magnitude over 127, stored as ``name + INT8_SCALE``); everything else is kept in fp32.
    """
    stored = {}
    for key, tensor in state.items():
        tensor = tensor.detach().cpu()
        if tensor.is_floating_point() and tensor.dim() == 2 and tensor.numel() >= INT8_MIN_SIZE:
            scale = tensor.float().abs().amax(dim=1).clamp_min(1e-12) / 127
            stored[key] = torch.round(tensor.float() / scale[:, None]).to(torch.int8)
            stored[key + INT8_SCALE] = scale
        else:
            stored[key] = tensor.float() if tensor.is_floating_point() else tensor
    return stored


def dequantize_int8(stored: dict[str, torch.Tensor], path: Path) -> dict[str, torch.Tensor]:
    """fp32 weights from what :func:`quantize_int8` stored (read from ``path``, named in errors)."""
    state = {}
    for key, tensor in stored.items():
        if key.endswith(INT8_SCALE):
            continue
        if tensor.dtype == torch.int8:
            scale = stored.get(key + INT8_SCALE)
            if scale is None or scale.shape != (tensor.shape[0],):
                raise CheckpointError(f"{str(path)!r} holds the int8 matrix {key} without one scale a row.")
            tensor = tensor.float() * scale.float()[:, None]
        state[key] = tensor
    return state
