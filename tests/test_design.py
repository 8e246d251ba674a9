"""design: constraints hold on every sequence, trajectories replay, scores equal predict, seeds repeat; the plot."""

import itertools
import re

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd
import pytest
import torch
from transformers import BertForSequenceClassification

import dnabert_nb as dn
from dnabert_nb import InputFormatError, ModelTaskError
from dnabert_nb.designer import consensus
from dnabert_nb.testing import short_context_config

IUPAC = {"A": "A", "C": "C", "G": "G", "T": "T", "W": "AT", "S": "CG", "R": "AG", "Y": "CT", "N": "ACGT"}
COMPLEMENT = {"A": "T", "C": "G", "G": "C", "T": "A", "W": "W", "S": "S", "R": "Y", "Y": "R", "N": "N"}


@pytest.fixture(scope="module")
def designer():
    """A random 4-mer classifier with 33-nt windows (so 60-nt sequences take several) and lively outputs."""
    config = short_context_config(num_labels=2, problem_type="single_label_classification", initializer_range=0.6)
    torch.manual_seed(0)
    network = BertForSequenceClassification(config)
    return dn.DNABERTModel(network, dn.KmerTokenizer(4), labels=["0", "1"], precision="fp32")


@pytest.fixture(scope="module")
def judge():
    rng = np.random.default_rng(5)
    sequences = ["".join(rng.choice(list("ACGT"), size=60, p=[0.3, 0.2, 0.2, 0.3])) for _ in range(40)]
    sequences += ["".join(rng.choice(list("ACGT"), size=60, p=[0.2, 0.3, 0.3, 0.2])) for _ in range(40)]
    return dn.baseline(pd.DataFrame({"sequence": sequences, "label": [0] * 40 + [1] * 40}), k=3)


def expansions(motif):
    return {"".join(letters) for letters in itertools.product(*(IUPAC[letter] for letter in motif))}


def longest_run(sequence):
    return max(len(list(group)) for _, group in itertools.groupby(sequence))


def check_rules(sequence, start, *, fixed, forbidden, gc, max_homopolymer, max_edits, required):
    """The constraints, checked here without the library's own checker."""
    assert set(sequence) <= set("ACGT") and len(sequence) == len(start)
    assert all(sequence[p] == start[p] for p in fixed)
    for motif in forbidden:
        reverse = "".join(COMPLEMENT[letter] for letter in reversed(motif))
        for word in expansions(motif) | expansions(reverse):
            assert word not in sequence, (word, sequence)
    share = (sequence.count("G") + sequence.count("C")) / len(sequence)
    assert gc[0] <= share <= gc[1]
    assert longest_run(sequence) <= max_homopolymer
    assert sum(a != b for a, b in zip(sequence, start)) <= max_edits
    for position, motif in required.items():
        assert all(base in IUPAC[letter] for base, letter in zip(sequence[position:], motif))


def replay(start, steps):
    sequence = start
    for _, step in steps.iterrows():
        assert sequence[step.position] == step.before
        sequence = sequence[: step.position] + step.after + sequence[step.position + 1 :]
        assert sequence == step.sequence
    return sequence


@pytest.mark.parametrize("seed", range(4))
def test_constraints_hold_on_every_sequence_of_every_method(designer, seed):
    rng = np.random.default_rng(seed)
    rules = {
        "fixed": sorted(rng.choice(60, size=int(rng.integers(0, 20)), replace=False).tolist()),
        "forbidden": [str(motif) for motif in rng.choice(["GAATTC", "GGATCC", "TTWAA", "CCSGG", "CTAG"], size=2)],
        "gc": tuple(sorted(rng.uniform(0.3, 0.7, size=2).round(2))),
        "max_homopolymer": int(rng.integers(2, 5)),
        "max_edits": int(rng.integers(0, 7)),
        "required": {int(rng.integers(0, 50)): "TATAWA"},
    }
    rules["gc"] = (min(rules["gc"][0], 0.45), max(rules["gc"][1], 0.55))
    for method in ("greedy", "beam", "random"):
        result = dn.design(
            designer, "1", length=60, n=2, method=method, steps=4, beam_width=2, budget=30, seed=seed,
            progress=False, **rules,
        )  # fmt: skip
        for design in result.designs.itertuples():
            steps = result.trajectory[result.trajectory.id == design.id]
            assert replay(design.start, steps[steps.step > 0]) == design.sequence
            for sequence in steps.sequence:
                check_rules(sequence, design.start, **rules)
            assert design.edits == sum(a != b for a, b in zip(design.start, design.sequence)) <= rules["max_edits"]
            assert dn.DesignConstraints(**rules).violations(design.sequence, start=design.start) == []


def test_greedy_scores_equal_predict_and_only_rise(designer):
    result = dn.design(designer, "1", length=60, n=2, steps=6, progress=False, seed=1)
    trajectory = result.trajectory
    predicted = dn.predict(designer, trajectory.sequence.tolist(), progress=False).prob_1.to_numpy()
    np.testing.assert_allclose(trajectory.score, predicted, atol=1e-5)
    for _, steps in trajectory.groupby("id"):
        assert (np.diff(steps.score) > 0).all()
    assert (result.designs.score > result.designs.start_score + 0.01).all()
    assert (result.designs.steps == result.designs.edits).all() and (result.designs.steps == 6).all()
    # each greedy step scores every allowed substitution: 3 per position, 180 for 60 nt, and the start once
    assert (result.designs.model_calls == 1 + 6 * 180).all()


def test_beam_of_width_one_is_greedy_and_a_wider_beam_does_no_worse(designer):
    start = ["".join(np.random.default_rng(9).choice(list("ACGT"), size=60))]
    greedy = dn.design(designer, "1", start=start, steps=3, progress=False)
    narrow = dn.design(designer, "1", start=start, method="beam", beam_width=1, steps=3, progress=False)
    assert narrow.designs.sequence[0] == greedy.designs.sequence[0]
    wide = dn.design(designer, "1", start=start, method="beam", beam_width=4, steps=3, progress=False)
    assert wide.designs.score[0] >= greedy.designs.score[0] - 1e-6
    assert wide.designs.model_calls[0] > greedy.designs.model_calls[0]


def test_a_goal_lowers_or_raises_toward_a_value_and_stops_near_it(designer):
    start = "".join(np.random.default_rng(2).choice(list("ACGT"), size=60))
    before = dn.predict(designer, start, progress=False).prob_0[0]
    result = dn.design(designer, ("0", 0.5), start=start, steps=8, progress=False)
    after = result.designs.score[0]
    assert abs(after - 0.5) < abs(before - 0.5)
    assert result.designs.stopped[0] in ("goal reached", "steps", "no improvement")
    if result.designs.stopped[0] == "goal reached":
        assert abs(after - 0.5) <= 0.01


def test_the_same_seed_gives_the_same_designs(designer):
    options = {"length": 50, "n": 2, "method": "random", "steps": 3, "budget": 20, "progress": False}
    first = dn.design(designer, "1", seed=3, **options)
    again = dn.design(designer, "1", seed=3, **options)
    other = dn.design(designer, "1", seed=4, **options)
    pd.testing.assert_frame_equal(first.designs, again.designs)
    pd.testing.assert_frame_equal(first.trajectory, again.trajectory)
    assert first.designs.start.tolist() != other.designs.start.tolist()
    assert (first.designs.model_calls == 21).all()
    gc = dn.design(designer, "1", length=400, start_gc=0.7, method="random", budget=1, steps=1, progress=False)
    assert 0.62 < gc.designs.gc[0] < 0.78


def test_the_judge_scores_every_scored_step_and_the_designs(designer, judge):
    result = dn.design(designer, "1", length=60, n=3, steps=3, judge=judge, progress=False)
    designs, trajectory = result.designs, result.trajectory
    np.testing.assert_allclose(designs.judge_score, judge.predict(designs.sequence.tolist()).prob_1, atol=1e-9)
    np.testing.assert_allclose(designs.judge_start_score, judge.predict(designs.start.tolist()).prob_1, atol=1e-9)
    assert trajectory.judge_score.notna().all()
    options = {"length": 60, "n": 2, "steps": 3, "budget": 10, "progress": False}
    screen = dn.design(designer, "1", method="random", judge=designer, **options)
    steps = screen.trajectory
    assert steps[steps.score.isna()].judge_score.isna().all() and steps[steps.step == 0].judge_score.notna().all()
    np.testing.assert_allclose(screen.designs.judge_score, screen.designs.score, atol=1e-6)  # judging itself


def test_on_step_can_stop_the_search(designer):
    seen = []
    stop_at_once = lambda row: seen.append(row) or True  # noqa: E731
    result = dn.design(designer, "1", length=60, n=2, steps=5, on_step=stop_at_once, progress=False)
    assert len(seen) == 1 and set(result.designs.stopped) == {"stopped"}
    assert result.designs.steps.max() == 1 and seen[0]["sequence"] in result.designs.sequence.tolist()


def test_no_allowed_edit_and_a_start_that_breaks_a_rule(designer):
    start = "ACGTACGTACGTACGTACGTACGTACGTACGTACGTACGTACGT"
    frozen = dn.design(designer, "1", start=start, max_edits=0, progress=False)
    assert frozen.designs.sequence[0] == start and frozen.designs.stopped[0] == "no allowed edit"
    with pytest.raises(InputFormatError, match=r"'s1' already breaks the constraints: the forbidden motif ACGT at"):
        dn.design(designer, "1", start=pd.DataFrame({"id": ["s1"], "sequence": [start]}), forbidden=["ACGT"])
    with pytest.raises(InputFormatError, match="GC fraction 0.500 is outside 0.6-0.8"):
        dn.design(designer, "1", start=start, gc=(0.6, 0.8))
    with pytest.raises(InputFormatError, match="run of 5 A at position 3"):
        dn.design(designer, "1", start="ACGAAAAACGT" * 4, max_homopolymer=4)
    with pytest.raises(InputFormatError, match="required motif TATA is not at position 2"):
        dn.design(designer, "1", start=start, required={2: "TATA"})


def test_bad_arguments_get_clear_errors(designer, judge):
    sequence = "ACGT" * 15
    cases = [
        ({"target": "promoter"}, r"target = 'promoter'; give one of the model's outputs \['0', '1'\]"),
        ({"target": ("1", 1.5)}, "must be a probability between 0 and 1"),
        ({"method": "anneal"}, "method = 'anneal'"),
        ({"steps": 0}, "steps = 0"),
        ({"n": 3}, "n = 3 with given starts"),
        ({"gc": (0.7, 0.2)}, r"gc = \(0.7, 0.2\)"),
        ({"forbidden": ["GAXTC"]}, "forbidden motif 'GAXTC' is not a motif"),
        ({"fixed": [0, 99]}, "fixed = \\[0, 99\\] for a 60-nt sequence"),
        ({"required": {58: "TATA"}}, "the required motif TATA at position 58 runs past its end"),
        ({"judge": "kmer"}, "judge = str"),
    ]
    for options, message in cases:
        target = options.pop("target", "1")
        with pytest.raises(InputFormatError, match=message):
            dn.design(designer, target, start=sequence, progress=False, **options)
    with pytest.raises(InputFormatError, match="length of the random starts"):
        dn.design(designer, "1")
    with pytest.raises(InputFormatError, match="No random 30-nt start"):
        dn.design(designer, "1", length=30, gc=(0.9, 1.0), forbidden=["SS"], progress=False)
    with pytest.raises(InputFormatError, match="holds letters other than A, C, G and T"):
        dn.design(designer, "1", start="ACGTNACGTACGTACGT", progress=False)
    untrained = dn.DNABERTModel(designer.network.bert, dn.KmerTokenizer(4), precision="fp32")
    with pytest.raises(ModelTaskError, match="task head"):
        dn.design(untrained, "1", start=sequence)
    other = dn.baseline(pd.DataFrame({"sequence": [sequence, sequence[::-1]] * 4, "label": ["a", "b"] * 4}), k=3)
    with pytest.raises(InputFormatError, match="The judge has no output '1'"):
        dn.design(designer, "1", start=sequence, judge=other)


def test_consensus_of_a_matrix_and_a_required_matrix_kept(designer):
    pfm = pd.DataFrame(
        [[90, 2, 3, 5], [40, 2, 3, 55], [30, 30, 20, 20], [3, 45, 50, 2]], columns=list("ACGT"), dtype=float
    )
    assert consensus(pfm) == "AWNS"
    result = dn.design(designer, "1", length=60, n=2, steps=4, required={10: pfm}, progress=False)
    for sequence in result.trajectory.sequence:
        assert sequence[10] == "A" and sequence[11] in "AT" and sequence[13] in "CG"
    assert re.fullmatch("[ACGT]+", result.designs.sequence[0])


def test_design_trajectory_plot(designer, judge):
    result = dn.design(designer, "1", length=60, n=3, steps=3, judge=judge, progress=False)
    ax = dn.pl.design_trajectory(result)
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == ["designer (median)", "judge (median)"] and ax.get_ylabel() == "P(1)"
    assert len(ax.lines) == 2 * (3 + 1)
    single = dn.pl.design_trajectory(dn.design(designer, "1", length=60, steps=2, progress=False).trajectory)
    assert [text.get_text() for text in single.get_legend().get_texts()] == ["designer"]
    with pytest.raises(InputFormatError, match="trajectory table"):
        dn.pl.design_trajectory(pd.DataFrame({"x": [1]}))
