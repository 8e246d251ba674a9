"""design: edit sequences toward a model output under constraints, and have an independent judge score the result.

>>> result = dn.design(model, "1", start=negatives, forbidden=["GAATTC"], gc=(0.3, 0.6), max_edits=10)
>>> result.designs        # one row per design: sequence, edits, score, judge_score, model_calls, ...
>>> result.trajectory     # one row per accepted edit: replaying them on the start gives the design

Every method edits by single-base substitutions that keep all the constraints (see
:class:`~dnabert_nb.DesignConstraints`); candidates are scored in batches through the inference engine, each
re-running only the model windows its substitution touches.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .._docs import shared_docs
from ..core.inference import (
    DEFAULT_BATCH_SIZE,
    WindowOutputs,
    average_windows,
    logits,
    run_windows,
    substituted_outputs,
    to_probabilities,
)
from ..core.model import DNABERTModel
from ..core.predict import output_column, output_index, predict
from ..dna.alphabet import gc_content, normalise
from ..dna.errors import (
    InputFormatError,
    ModelTaskError,
    require_positive_integers,
    require_positive_integers_or_none,
)
from ..io.sequences import SequencesLike, as_sequence_table
from .constraints import DesignConstraints

METHODS = ("greedy", "beam", "random")
#: A design whose output is this close to the goal stops early (a class probability of 0.99 or more).
GOAL_TOLERANCE = 0.01
#: An edit must raise the objective by more than this to be taken.
MIN_GAIN = 1e-6
#: Random starts drawn per requested start before giving up on the constraints.
START_TRIES = 1000


class DesignResult(NamedTuple):
    """What :func:`design` returns.

    Attributes
    ----------
    designs : DataFrame
        One row per design: ``id``, ``method``, ``start``, ``sequence``, ``edits`` (positions that differ
        from the start), ``start_score`` and ``score`` (the designer's target output), ``judge_start_score``
        and ``judge_score`` (with a judge), ``gc``, ``steps`` (edits accepted), ``model_calls`` (sequences
        the designer scored, the start included) and ``stopped``: why the search ended (``"steps"``,
        ``"goal reached"``, ``"no improvement"``, ``"max_edits reached"``, ``"no allowed edit"``,
        ``"stopped"`` by ``on_step``; the random screen: ``"budget"`` or ``"no improvement"``). ``attrs``:
        ``target``, ``goal``.
    trajectory : DataFrame
        One row per step of each design, step 0 being its start: ``id``, ``step``, ``position`` (0-based),
        ``before``, ``after`` (the bases), ``sequence`` (after the edit), ``score`` and ``judge_score``.
        A random screen scores only its final sequence, so its intermediate rows have no score.
    """

    designs: pd.DataFrame
    trajectory: pd.DataFrame


def _goal(model: DNABERTModel, target: object) -> tuple[int, float]:
    """The output column ``target`` names and the value to bring it to."""
    if model.task is None:
        raise ModelTaskError("design needs a model with a task head; fine-tune one first (dn.finetune).")
    name, goal = target if isinstance(target, tuple) and len(target) == 2 else (target, None)
    if model.task == "regression" and goal is None and isinstance(name, numbers.Real):
        name, goal = model.labels[0], name
    column = output_index(model.labels, name)
    if column is None:
        raise InputFormatError(
            f"target = {target!r}; give one of the model's outputs {model.labels} (or its index), optionally with "
            "the value to reach, e.g. ('1', 0.8)"
            + ("; a regression model also takes a number." if model.task == "regression" else ".")
        )
    if goal is None:
        if model.task == "regression":
            raise InputFormatError(
                f"target = {target!r}; a regression model needs the value to reach, e.g. ({name!r}, 2.5)."
            )
        goal = 1.0
    if (
        not isinstance(goal, numbers.Real)
        or not np.isfinite(goal)
        or (model.task != "regression" and not 0 <= goal <= 1)
    ):
        raise InputFormatError(f"target = {target!r}; the value to reach must be a probability between 0 and 1.")
    return column, float(goal)


def _random_starts(rules: DesignConstraints, n: int, length: int, gc: float, rng: np.random.Generator) -> list[str]:
    """``n`` random sequences of ``length`` with GC fraction ``gc`` on average that keep every rule."""
    starts, allowed = [], rules.required_bases(length)
    for _ in range(n):
        for _ in range(START_TRIES):
            draws = rng.choice(list("ACGT"), size=length, p=[(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])
            candidate = "".join(draws)
            candidate = "".join(
                base if base in bases else rng.choice(list(bases)) for base, bases in zip(candidate, allowed)
            )
            if not rules.violations(candidate):
                starts.append(candidate)
                break
        else:
            raise InputFormatError(
                f"No random {length}-nt start with GC {gc:.2f} kept the constraints in {START_TRIES} tries; "
                "loosen them, set start_gc, or give starts."
            )
    return starts


def _given_starts(rules: DesignConstraints, start: SequencesLike, k: int) -> tuple[list, list[str]]:
    table = as_sequence_table(start)
    texts = normalise(table.sequences, table.ids, min_length=k)
    for name, text in zip(table.ids, texts):
        if set(text) - set("ACGT"):
            raise InputFormatError(
                f"The start {name!r} holds letters other than A, C, G and T; design edits ACGT only."
            )
        broken = rules.violations(text)
        if broken:
            raise InputFormatError(
                f"The start {name!r} already breaks the constraints: {'; '.join(broken)}. Give starts that keep "
                "them (dn.DesignConstraints(...).violations(sequence) lists what a sequence breaks)."
            )
    ids = list(table.ids)
    return (ids if len(set(ids)) == len(ids) else [f"design_{i}" for i in range(len(ids))]), texts


class _Designer:
    """The design model, its target output and the count of sequences it scored."""

    def __init__(self, model: DNABERTModel, column: int, goal: float, options: dict):
        self.model, self.column, self.goal, self.options = model, column, goal, options
        self.calls = 0

    def objective(self, outputs: np.ndarray) -> np.ndarray:
        return -np.abs(outputs - self.goal)

    def reached(self, output: float) -> bool:
        return abs(output - self.goal) <= GOAL_TOLERANCE

    def windows(self, texts: list[str]) -> WindowOutputs:
        result = run_windows(self.model, texts, logits, description="design", **self.options)
        return result._replace(values=to_probabilities(self.model.task, result.values))

    def score(self, texts: list[str]) -> np.ndarray:
        self.calls += len(texts)
        result = self.windows(texts)
        return average_windows(result.windows, result.values, len(texts))[:, self.column].astype(np.float64)

    def score_substitutions(self, parents: list[str], substitutions: list[tuple[int, int, str]]) -> np.ndarray:
        self.calls += len(substitutions)
        options = {key: value for key, value in self.options.items() if key != "window_overlap"}
        _, outputs = substituted_outputs(
            self.model, parents, self.windows(parents), substitutions, description="design", **options
        )
        return outputs[:, self.column]


class _Path(NamedTuple):
    """One sequence in a search and the edits that led to it from the start."""

    sequence: str
    score: float
    edits: tuple[tuple[int, str, str, str, float], ...]  # (position, before, after, sequence, score)


def _edited(path: _Path, position: int, base: str, score: float) -> _Path:
    text = path.sequence[:position] + base + path.sequence[position + 1 :]
    return _Path(text, score, (*path.edits, (position, path.sequence[position], base, text, score)))


def _beam_search(
    designer: _Designer,
    rules: DesignConstraints,
    starts: list[str],
    start_scores: np.ndarray,
    *,
    width: int,
    steps: int,
    bar: tqdm,
    on_step: Callable[[dict], object] | None,
    ids: list,
) -> list[tuple[_Path, str, int]]:
    """Beam search over single substitutions (greedy: ``width`` 1), all designs scored together per step.

    Returns, per start, the best sequence reached, why the search ended and the candidates it scored.
    """
    allowed = [rules.allowed_bases(text) for text in starts]
    beams = [[_Path(text, float(score), ())] for text, score in zip(starts, start_scores)]
    best = [beam[0] for beam in beams]
    stopped = ["steps"] * len(starts)
    calls = [0] * len(starts)
    active = [i for i in range(len(starts)) if not designer.reached(best[i].score)]
    for i in set(range(len(starts))) - set(active):
        stopped[i] = "goal reached"
    for _ in range(steps):
        if not active:
            break
        parents, substitutions, owner = [], [], []
        for i in active:
            for path in beams[i]:
                parents.append(path.sequence)
                for position, base in rules.substitutions(path.sequence, starts[i], allowed[i]):
                    substitutions.append((len(parents) - 1, position, base))
                    owner.append((i, path))
                    calls[i] += 1
        scores = designer.score_substitutions(parents, substitutions) if substitutions else np.zeros(0)
        children: dict[int, dict[str, _Path]] = {i: {} for i in active}
        for (i, path), (_, position, base), score in zip(owner, substitutions, scores):
            child = _edited(path, position, base, float(score))
            children[i].setdefault(child.sequence, child)
        still = []
        for i in active:
            ranked = sorted(children[i].values(), key=lambda path: -designer.objective(path.score))
            if not ranked:
                stopped[i] = "no allowed edit"
                continue
            if designer.objective(ranked[0].score) <= designer.objective(best[i].score) + MIN_GAIN:
                edits = sum(a != b for a, b in zip(best[i].sequence, starts[i]))
                at_limit = rules.max_edits is not None and edits >= rules.max_edits
                stopped[i] = "max_edits reached" if at_limit else "no improvement"
                continue
            beams[i], best[i] = ranked[:width], ranked[0]
            bar.update(1)
            position, before, after, sequence, score = best[i].edits[-1]
            row = {"id": ids[i], "step": len(best[i].edits), "position": position, "before": before, "after": after}
            if on_step is not None and on_step({**row, "sequence": sequence, "score": score}):
                stopped = [reason if j not in active else "stopped" for j, reason in enumerate(stopped)]
                return list(zip(best, stopped, calls))
            if designer.reached(score):
                stopped[i] = "goal reached"
            else:
                still.append(i)
        active = still
    return list(zip(best, stopped, calls))


def _random_screen(
    designer: _Designer,
    rules: DesignConstraints,
    starts: list[str],
    start_scores: np.ndarray,
    *,
    steps: int,
    budget: int | None,
    rng: np.random.Generator,
    bar: tqdm,
) -> list[tuple[_Path, str, int]]:
    """Per start: ``budget`` random variants of ``steps`` allowed substitutions each; the best one is kept."""
    found = []
    for start, start_score in zip(starts, start_scores):
        allowed = rules.allowed_bases(start)
        calls = budget if budget is not None else steps * max(1, len(rules.substitutions(start, start, allowed)))
        variants = [_random_variant(rules, start, allowed, steps, rng) for _ in range(calls)]
        scores = designer.score([variant[-1][3] if variant else start for variant in variants])
        best = int(np.argmax(designer.objective(scores)))
        if designer.objective(scores[best]) <= designer.objective(start_score):
            found.append((_Path(start, float(start_score), ()), "no improvement", calls))
        else:
            edits = tuple((*edit[:4], np.nan) for edit in variants[best][:-1]) + (
                (*variants[best][-1][:4], float(scores[best])),
            )
            found.append((_Path(edits[-1][3], float(scores[best]), edits), "budget", calls))
        bar.update(steps)
    return found


def _random_variant(
    rules: DesignConstraints, start: str, allowed: list[str], steps: int, rng: np.random.Generator
) -> list[tuple[int, str, str, str]]:
    """Up to ``steps`` random allowed substitutions at distinct positions: ``(position, before, after, sequence)``."""
    sequence, edits, gc_count = start, [], start.count("G") + start.count("C")
    for position in rng.permutation(len(start)):
        if len(edits) == steps:
            break
        options = [
            base
            for base in allowed[position]
            if rules.keeps(sequence, position, base, start=start, edits=len(edits), gc_count=gc_count)
        ]
        if not options:
            continue
        base = options[rng.integers(len(options))]
        gc_count += (base in "GC") - (sequence[position] in "GC")
        before, sequence = sequence[position], sequence[:position] + base + sequence[position + 1 :]
        edits.append((int(position), before, base, sequence))
    return edits


def _judge_outputs(judge: object, sequences: list[str], label: str, options: dict) -> np.ndarray:
    """The judge's output for ``label`` on each sequence."""
    if isinstance(judge, DNABERTModel):
        table = predict(judge, sequences, **options)
    else:
        table = judge.predict(sequences)
    return table[output_column(getattr(judge, "task", "classification"), list(judge.labels), label)].to_numpy(float)


def _check_judge(judge: object, label: str) -> None:
    labels = getattr(judge, "labels", None)
    if isinstance(judge, DNABERTModel) and judge.task is None:
        raise ModelTaskError("The judge has no task head; give a fine-tuned model or a dn.baseline(...) as judge.")
    if labels is None or not callable(getattr(judge, "predict", None)) and not isinstance(judge, DNABERTModel):
        raise InputFormatError(
            f"judge = {type(judge).__name__}; give a fine-tuned DNABERTModel or a k-mer baseline (dn.baseline)."
        )
    if label not in [str(name) for name in labels]:
        raise InputFormatError(
            f"The judge has no output {label!r} (its outputs: {list(labels)}); judge the same classes."
        )


@shared_docs
def design(
    model: DNABERTModel,
    target: str | int | float | tuple,
    *,
    start: SequencesLike | None = None,
    length: int | None = None,
    n: int = 1,
    start_gc: float | None = None,
    method: str = "greedy",
    steps: int = 10,
    beam_width: int = 4,
    budget: int | None = None,
    judge: object = None,
    fixed: Iterable[int] | slice | np.ndarray | None = None,
    forbidden: Iterable[str] | str = (),
    gc: tuple[float, float] | None = None,
    max_homopolymer: int | None = None,
    max_edits: int | None = None,
    required: Mapping[int, str | pd.DataFrame] | None = None,
    on_step: Callable[[dict], object] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    precision: str | None = None,
    window_overlap: int | None = None,
    progress: bool = True,
    seed: int = 0,
) -> DesignResult:
    """Design sequences toward a model output by single-base edits that keep every constraint.

    Parameters
    ----------
    model
        The designer: a :class:`DNABERTModel` with a task head (e.g. from :func:`dnabert_nb.finetune`).
    target
        A class (or output) name or index: raise its probability toward 1. ``(name, value)``: bring that
        output to ``value`` (a probability; any number for regression). A number alone: the value of a
        one-output regression model. A design stops early within 0.01 of its goal.
    start
        The sequences to edit (any form :func:`dnabert_nb.predict` takes): one design each. None: ``n``
        random starts of ``length`` nt with GC fraction ``start_gc``.
    length, n, start_gc
        Size, number and GC fraction (default: the middle of ``gc``, else 0.5) of the random starts.
    method
        ``"greedy"``: each step takes the single substitution that helps most, until none helps or
        ``steps`` edits are made. ``"beam"``: keeps the ``beam_width`` best sequences at each step and
        returns the best seen. ``"random"``: a screen, the baseline the searches must beat: ``budget``
        random variants of ``steps`` allowed substitutions each, the best one kept; by default as many as
        the model calls of a greedy search that takes every step (steps × allowed substitutions of the start).
    steps
        The most edits a search makes (each step one substitution).
    beam_width
        Sequences kept per step by ``"beam"`` (its cost is about ``beam_width`` times greedy's).
    budget
        Variants scored per start by ``"random"``.
    judge
        An independent model that scores the designs too: another fine-tuned :class:`DNABERTModel` (another
        seed or split) or a k-mer baseline (:func:`dnabert_nb.baseline`) with the same classes. A design that
        only the designer likes has fooled it rather than found the class.
    fixed, forbidden, gc, max_homopolymer, max_edits, required
        The constraints; see :class:`~dnabert_nb.DesignConstraints`. Every start must keep them, and every
        sequence a search reaches keeps them.
    on_step
        Called after each accepted edit with a dict (``id``, ``step``, ``position``, ``before``, ``after``,
        ``sequence``, ``score``); returning True stops every search, keeping the designs so far.
    {batch_size}
    {precision}
    {window_overlap}
    {progress}
    {seed}
        Here: the random starts and the random screen.

    Returns
    -------
    DesignResult
        ``designs`` (one row per design) and ``trajectory`` (one row per step); see :class:`DesignResult`.

    Raises
    ------
    ModelTaskError
        A model (or judge) without a task head.
    InputFormatError
        An unknown target, method or constraint; a start that breaks the constraints; no random start
        that keeps them.

    Examples
    --------
    >>> negatives = df[(df.split == "test") & (df.label == 0)].head(20)
    >>> result = dn.design(ft, "1", start=negatives, forbidden=["GAATTC", "GGATCC"], gc=(0.3, 0.6),
    ...                    max_edits=10, judge=dn.baseline(other_train, other_valid))
    >>> result.designs[["id", "start_score", "score", "judge_score", "edits"]]
    """
    column, goal = _goal(model, target)
    label = model.labels[column]
    if method not in METHODS:
        raise InputFormatError(f"method = {method!r}; use one of {', '.join(map(repr, METHODS))}.")
    require_positive_integers(steps=steps, beam_width=beam_width, n=n, batch_size=batch_size)
    require_positive_integers_or_none(budget=budget)
    if not isinstance(seed, numbers.Integral) or seed < 0:
        raise InputFormatError(f"seed = {seed!r}; give a whole number of 0 or more.")
    if judge is not None:
        _check_judge(judge, label)
    rules = DesignConstraints(fixed, forbidden, gc, max_homopolymer, max_edits, required)
    rng = np.random.default_rng(int(seed))
    if start is None:
        if length is None:
            raise InputFormatError("Give start sequences, or the length of the random starts (length=...).")
        require_positive_integers(length=length)
        if length < model.k:
            raise InputFormatError(f"length = {length}; the model reads {model.k}-mers, so give {model.k} or more.")
        gc_mid = 0.5 if gc is None else (gc[0] + gc[1]) / 2
        start_gc = gc_mid if start_gc is None else start_gc
        if not isinstance(start_gc, numbers.Real) or not 0 <= start_gc <= 1:
            raise InputFormatError(f"start_gc = {start_gc!r}; give a GC fraction between 0 and 1.")
        starts = _random_starts(rules, n, int(length), float(start_gc), rng)
        ids = [f"design_{i}" for i in range(n)]
    else:
        if n != 1:
            raise InputFormatError(f"n = {n} with given starts; each start gives one design (n is for random starts).")
        ids, starts = _given_starts(rules, start, model.k)

    options = {"batch_size": batch_size, "precision": precision, "window_overlap": window_overlap, "progress": False}
    designer = _Designer(model, column, goal, options)
    start_scores = designer.score(starts)
    with tqdm(total=len(starts) * steps, desc=f"design ({method})", unit="edit", disable=not progress) as bar:
        if method == "random":
            found = _random_screen(designer, rules, starts, start_scores, steps=steps, budget=budget, rng=rng, bar=bar)
        else:
            width = beam_width if method == "beam" else 1
            found = _beam_search(
                designer, rules, starts, start_scores, width=width, steps=steps, bar=bar, on_step=on_step, ids=ids
            )
    return _result(found, ids, starts, start_scores, method, judge, label, goal, rules, options)


def _result(found, ids, starts, start_scores, method, judge, label, goal, rules, options) -> DesignResult:
    """The designs and trajectory tables, with the judge's scores and a last check of every constraint."""
    rows, steps_rows = [], []
    for (path, stopped, calls), name, start, start_score in zip(found, ids, starts, start_scores):
        broken = rules.violations(path.sequence, start=start)
        if broken:  # cannot happen: every substitution was checked; refuse to return a wrong design if it does
            raise RuntimeError(f"design {name!r} breaks its constraints ({'; '.join(broken)}); please report this.")
        steps_rows.append({"id": name, "step": 0, "position": pd.NA, "before": None, "after": None,
                           "sequence": start, "score": float(start_score)})  # fmt: skip
        for step, (position, before, after, sequence, score) in enumerate(path.edits, start=1):
            steps_rows.append({"id": name, "step": step, "position": position, "before": before, "after": after,
                               "sequence": sequence, "score": score})  # fmt: skip
        rows.append({
            "id": name, "method": method, "start": start, "sequence": path.sequence,
            "edits": sum(a != b for a, b in zip(start, path.sequence)), "start_score": float(start_score),
            "score": path.score, "gc": gc_content(path.sequence), "steps": len(path.edits),
            "model_calls": calls + 1, "stopped": stopped,
        })  # fmt: skip
    designs = pd.DataFrame(rows)
    trajectory = pd.DataFrame(steps_rows)
    trajectory["position"] = trajectory["position"].astype("Int64")
    if judge is not None:
        scored = trajectory["score"].notna()
        judged = _judge_outputs(judge, trajectory.loc[scored, "sequence"].tolist(), label, options)
        trajectory["judge_score"] = np.nan
        trajectory.loc[scored, "judge_score"] = judged
        last = trajectory.groupby("id", sort=False).tail(1).set_index("id")
        first = trajectory[trajectory["step"] == 0].set_index("id")
        designs.insert(
            designs.columns.get_loc("score") + 1,
            "judge_start_score",
            first.loc[designs["id"], "judge_score"].to_numpy(),
        )
        designs.insert(
            designs.columns.get_loc("judge_start_score") + 1,
            "judge_score",
            last.loc[designs["id"], "judge_score"].to_numpy(),
        )
    designs.attrs = {"target": label, "goal": goal}
    return DesignResult(designs, trajectory)
