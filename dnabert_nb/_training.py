"""Pieces shared by the training loops of pretrain and finetune."""

from __future__ import annotations

from typing import Iterable

import torch

from ._errors import InputFormatError


def linear_schedule(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over ``warmup_steps``, then linear decay to zero at ``total_steps``."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def apply_gradients(
    loss: torch.Tensor,
    parameters: Iterable[torch.nn.Parameter],
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    max_norm: float = 1.0,
) -> None:
    """Backpropagate ``loss``, clip the gradient norm, step the optimizer and the schedule."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(parameters, max_norm)
    optimizer.step()
    scheduler.step()


def check_resumable(saved: dict, current: dict, folder: object) -> None:
    """Refuse to resume a checkpoint written with other settings, naming the ones that differ."""
    if saved != current:
        changed = sorted(key for key in {**saved, **current} if saved.get(key) != current.get(key))
        raise InputFormatError(
            f"The checkpoint in {str(folder)!r} was trained with other settings ({', '.join(changed)}); "
            "use the same settings, another output_dir, or start afresh (resume=False)."
        )
