"""The options several verbs share, documented once (as scanpy's ``_doc_params``) and reused in every docstring.

Write ``{batch_size}`` (etc.) on its own line of a Parameters section, indented like a parameter name, and
decorate the function with ``@shared_docs``. The same option has the same name, meaning and default everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

Function = TypeVar("Function", bound=Callable)

OPTIONS = {
    "sequences": """sequences
        A str, a list of str, a pandas Series, a DataFrame with a ``sequence`` column (and an optional ``id``),
        or a FASTA path (``.fa``, ``.fasta``, ``.fna``, optionally gzipped).""",
    "batch_size": """batch_size
        Model inputs (windows) per forward pass (default 32).""",
    "precision": """precision
        ``"auto"`` (bf16 where the hardware is fast at it, else fp32), ``"fp32"``, ``"bf16"``, ``"fp16"``, or
        ``"int8"`` (CPU only: the encoder's linear layers in int8, activations scaled per batch; faster on CPUs
        without bf16; BENCHMARKS.md gives its agreement with fp32); None (the default) uses the model's own
        (``load(precision=...)``, ``"auto"`` unless set).""",
    "window_overlap": """window_overlap
        Nucleotides shared by neighbouring windows of a sequence longer than one model input
        (``model.tokenizer.max_nucleotides``: 515 nt for DNABERT-6); None: 100 nt, or less where a window is
        shorter.""",
    "progress": """progress
        Show a progress bar (default True).""",
    "seed": """seed
        Seeds every random choice of the call: the same seed on the same machine gives the same result.""",
    "output_dir": """output_dir
        Where checkpoints go: ``last/`` (the model and the training state) at every evaluation and every
        ``save_every`` steps, and ``best/`` (the best model on the evaluation data so far); both load with
        :func:`dnabert_nb.load` and with plain transformers, and are written atomically. None writes nothing.""",
    "resume": """resume
        Continue the interrupted run in ``output_dir/last`` (same settings and data; refused otherwise): it ends
        where an uninterrupted run would. False (the default) starts afresh.""",
    "callbacks": """callbacks
        :class:`dnabert_nb.Callback` instances told of every step and evaluation; one may call
        ``state.request_stop()`` to end the run after the current step, keeping the best model so far.""",
    "log_every": """log_every
        Steps per training row of the history (default 20).""",
}


def shared_docs(function: Function) -> Function:
    """Fill the ``{option}`` placeholders of ``function``'s docstring with the shared option texts."""
    for name, text in OPTIONS.items():
        function.__doc__ = function.__doc__.replace("{" + name + "}", text)
    return function
