"""mutagenesis: in-silico saturation mutagenesis, every substitution at every position, through the inference engine.

A substitution changes only the model inputs (windows) that cover it, so only those are run again: a sequence of
one window costs one model input per mutant, and a long sequence no more. The mutant's output is then averaged
over all its windows exactly as :func:`dnabert_nb.predict` averages them, so each value equals what ``predict``
would give for the mutated sequence.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from .._docs import shared_docs
from ..core.inference import (
    DEFAULT_BATCH_SIZE,
    log_odds,
    logits,
    run_windows,
    substituted_outputs,
    to_probabilities,
)
from ..core.model import DNABERTModel
from ..core.predict import target_column
from ..dna.alphabet import normalise
from ..dna.errors import InputFormatError
from ..dna.pfm import BASES
from ..io.sequences import SequencesLike, as_sequence_table, looks_like_path
from .likelihood import check_score, masked_llr
from .variants import variant_windows

SCALES = ("probability", "log_odds")


def _positions(positions: Iterable[int] | slice | None, length: int, name: str) -> np.ndarray:
    """0-based positions to mutate, checked against the sequence length."""
    if positions is None:
        return np.arange(length)
    if isinstance(positions, slice):
        return np.arange(length)[positions]
    chosen = np.asarray(list(positions))
    if chosen.dtype.kind not in "iu" or chosen.ndim != 1 or ((chosen < 0) | (chosen >= length)).any():
        raise InputFormatError(
            f"positions = {positions!r} for sequence {name} of {length} nt; give 0-based positions from 0 to "
            f"{length - 1}, a range or a slice."
        )
    return chosen


def _scaled(values: np.ndarray, scale: str) -> np.ndarray:
    return values if scale == "probability" else log_odds(values)


@shared_docs
def mutagenesis(
    model: DNABERTModel,
    sequences: SequencesLike,
    *,
    target: str | int | None = None,
    positions: Iterable[int] | slice | None = None,
    scale: str = "probability",
    score: str = "head",
    batch_size: int = DEFAULT_BATCH_SIZE,
    precision: str | None = None,
    window_overlap: int | None = None,
    progress: bool = True,
) -> pd.DataFrame | list[pd.DataFrame]:
    """In-silico saturation mutagenesis: how every single-base substitution changes the model's output.

    Parameters
    ----------
    model
        A :class:`DNABERTModel` with a task head (e.g. from :func:`dnabert_nb.finetune`).
    {sequences}
    target
        The output whose change is reported: a class name or index (classification, multi-label) or an
        output name (regression). None: the class the model predicts for each unmutated sequence
        (regression: the first output).
    positions
        0-based positions to mutate (a list, a range or a slice); None mutates every position.
    scale
        ``"probability"``: the change of the target's probability (regression: of its value);
        ``"log_odds"``: the change of its log-odds, ``logit(p_mutant) - logit(p_reference)``, which
        separates effects near 0 or 1.
    score
        ``"head"``: the task head's output, as above. ``"likelihood"``: no labels needed — for a pre-trained model
        with its masked-LM head, each substitution's log-likelihood ratio, as
        ``variant_effects(score="likelihood")`` gives it (``target`` and ``scale`` do not apply; ``attrs``
        ``target`` is ``"likelihood"``, ``scale`` ``"llr"``).
    {batch_size}
    {precision}
    {window_overlap}
        Only the windows that cover a substitution are run again.
    {progress}

    Returns
    -------
    DataFrame, or a list of DataFrames
        One per sequence (a single ``str`` gives one DataFrame): rows are the positions (index
        ``position``), columns ``A C G T``, values the change of the target output, mutant minus
        reference; 0 at the reference base. It goes straight into :func:`dnabert_nb.pl.mutagenesis` or
        ``logomaker.Logo``. ``attrs`` hold ``id``, ``sequence``, ``target`` (the output's name),
        ``scale`` and ``reference`` (the target output of the unmutated sequence).
    """
    check_score(score, model, "mutagenesis")
    single = isinstance(sequences, str) and not looks_like_path(sequences)
    if score == "likelihood":
        table = as_sequence_table(sequences)
        texts = normalise(table.sequences, table.ids, min_length=model.k)
        chosen = [_positions(positions, len(text), repr(table.ids[i])) for i, text in enumerate(texts)]
        options = {"batch_size": batch_size, "precision": precision, "progress": progress}
        frames = [
            likelihood_map(model, name, text, places, options) for name, text, places in zip(table.ids, texts, chosen)
        ]
        return frames[0] if single else frames
    if scale not in SCALES or (scale == "log_odds" and model.task == "regression"):
        allowed = "'probability'" if model.task == "regression" else "'probability' or 'log_odds'"
        raise InputFormatError(f"scale = {scale!r}; use {allowed} for a {model.task} model.")
    column = target_column(model, target)
    table = as_sequence_table(sequences)
    texts = normalise(table.sequences, table.ids, min_length=model.k)
    options = {"batch_size": batch_size, "precision": precision, "progress": progress}
    reference = run_windows(model, texts, logits, window_overlap=window_overlap, description="reference", **options)
    reference = reference._replace(values=to_probabilities(model.task, reference.values))
    chosen = [_positions(positions, len(text), repr(table.ids[i])) for i, text in enumerate(texts)]
    mutants = [
        (index, int(position), base)
        for index, (text, places) in enumerate(zip(texts, chosen))
        for position in places
        for base in BASES
        if base != text[position]
    ]
    reference_averages, mutant_outputs = substituted_outputs(
        model, texts, reference, mutants, description="mutagenesis", **options
    )
    sequence_of = np.array([mutant[0] for mutant in mutants], dtype=np.int64)
    mutant_bounds = np.searchsorted(sequence_of, np.arange(len(texts) + 1))  # mutants come in sequence order

    frames = []
    for index, places in enumerate(chosen):
        output = column if column is not None else int(reference_averages[index].argmax())
        values = np.zeros((len(places), len(BASES)))
        row_of = {position: row for row, position in enumerate(places)}
        base_value = _scaled(reference_averages[index, output], scale)
        for mutant in range(mutant_bounds[index], mutant_bounds[index + 1]):
            _, position, base = mutants[mutant]
            values[row_of[position], BASES.index(base)] = _scaled(mutant_outputs[mutant, output], scale) - base_value
        frame = pd.DataFrame(values, index=pd.Index(places, name="position"), columns=BASES)
        frame.attrs = {
            "id": table.ids[index],
            "sequence": texts[index],
            "target": model.labels[output],
            "scale": scale,
            "reference": float(reference_averages[index, output]),
        }
        frames.append(frame)
    return frames[0] if single else frames


def likelihood_map(model: DNABERTModel, name: object, text: str, places: np.ndarray, options: dict) -> pd.DataFrame:
    """Positions x A C G T: each substitution's masked-LM log-likelihood ratio (:mod:`.likelihood`), 0 at the
    reference base; each position read in the model input centred on it."""
    size, rows = model.tokenizer.max_nucleotides, []
    for row, position in enumerate(places):
        for base in BASES:
            if base != text[position]:
                window = variant_windows(lambda a, b: text[a:b], len(text), int(position), text[position], base, size)
                rows.append((row, BASES.index(base), window))
    windows = [r[2] for r in rows]
    references, alternatives = [w.reference for w in windows], [w.alternative for w in windows]
    llr, _, _ = masked_llr(model, references, alternatives, [w.at for w in windows], [1] * len(rows), **options)
    values = np.zeros((len(places), len(BASES)))
    values[[r[0] for r in rows], [r[1] for r in rows]] = llr
    frame = pd.DataFrame(values, index=pd.Index(places, name="position"), columns=BASES)
    frame.attrs = {"id": name, "sequence": text, "target": "likelihood", "scale": "llr", "reference": float("nan")}
    return frame
