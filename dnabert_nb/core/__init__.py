"""The model layer: tokenizer, checkpoints, the model wrapper, runtime and the inference engine.

Modules: ``tokenizer`` (k-mers, windows),
``checkpoint`` (safe reading of checkpoint folders), ``model`` (``DNABERTModel``, ``load``, saving), ``runtime``
(device and precision), ``processes`` (one process, or several launched by torchrun), ``encoder`` (the [CLS]-row
fast path), ``inference`` (batched windows -> outputs, used by every verb that runs a model), ``predict``
(``predict``, ``embed``), ``ready`` (the ready task models).
"""
