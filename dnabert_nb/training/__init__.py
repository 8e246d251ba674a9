"""The training layer: one loop (``loop``: state, callbacks, checkpoints, resume, several processes) that
``finetune`` and ``pretrain`` feed with their data, objective and settings; ``evaluate`` and ``metrics``.
"""
