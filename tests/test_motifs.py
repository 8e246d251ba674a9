"""attention_motifs, find_motifs and compare_motifs on hand-made sequences with a planted motif."""

import warnings

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd
import pytest
import torch

import dnabert_nb as dn
from dnabert_nb import InputFormatError
from dnabert_nb.dna.alphabet import reverse_complement
from dnabert_nb.interpret import motifs as _motifs
from dnabert_nb.interpret.enrichment import benjamini_hochberg
from dnabert_nb.interpret.motifs import count_containing, find_motifs, high_attention_regions
from dnabert_nb.interpret.seqlets import find_seqlets, seqlet_motifs

CTCF_SITE = "CCACCAGGGGGCGC"  # the CTCF consensus (JASPAR MA0139, reverse strand)


def planted(n=120, length=80, share=0.6, seed=0, mismatches=0):
    """Random sequences, ``share`` of them with the site (with ``mismatches`` random letters changed, on a random
    strand with mismatches) at a random place; scores peak on the site."""
    rng = np.random.default_rng(seed)
    sequences, scores = [], []
    for index in range(n):
        sequence = list(rng.choice(list("ACGT"), size=length))
        score = rng.uniform(0.5, 1.0, size=length)
        if index < share * n:
            at = int(rng.integers(12, length - 12 - len(CTCF_SITE)))
            site = list(CTCF_SITE)
            for where in rng.choice(len(site), size=mismatches, replace=False):
                site[where] = rng.choice([base for base in "ACGT" if base != site[where]])
            site = "".join(site)
            if mismatches and rng.random() < 0.5:
                site = reverse_complement(site)
            sequence[at : at + len(CTCF_SITE)] = site
            score[at : at + len(CTCF_SITE)] = 30
        sequences.append("".join(sequence))
        scores.append(score / np.linalg.norm(score))
    return sequences, scores


def test_high_attention_regions_follow_the_dnabert_rule():
    score = np.array([1, 1, 20, 20, 20, 20, 20, 1, 20, 20, 1], dtype=float)
    assert high_attention_regions(score, min_len=5) == [(2, 7)]
    assert high_attention_regions(score, min_len=2) == [(2, 7), (8, 10)]
    assert high_attention_regions(np.ones(8), min_len=1) == []  # nothing is above the mean


def test_count_containing_equals_brute_force():
    rng = np.random.default_rng(1)
    sequences = ["".join(rng.choice(list("ACGT"), size=60)) for _ in range(200)] + ["ACGTNNACGT"]
    motifs = ["".join(rng.choice(list("ACGT"), size=int(n))) for n in rng.integers(3, 9, size=300)]
    motifs += [sequences[3][5:40], "ACGTNN", sequences[0][:25]]
    np.testing.assert_array_equal(count_containing(sequences, motifs), [sum(m in s for s in sequences) for m in motifs])


def test_benjamini_hochberg():
    adjusted = benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.2]))
    # sorted p 0.01 0.03 0.04 0.2 → p·n/rank 0.04 0.06 0.0533 0.2 → running minimum from the top
    np.testing.assert_allclose(adjusted, [0.04, 0.16 / 3, 0.16 / 3, 0.2])


def test_find_motifs_recovers_the_planted_site():
    positives, scores = planted()
    rng = np.random.default_rng(9)
    negatives = ["".join(rng.choice(list("ACGT"), size=80)) for _ in range(120)]
    motifs, pfms, instances = find_motifs(positives, scores, negatives, window=24, min_len=5)
    top = motifs.iloc[0]
    assert CTCF_SITE in top["core"] or top["core"] in CTCF_SITE
    assert top["n_pos"] == 72 and top["n_neg"] == 0 and top["p_adj"] < 1e-10
    assert top["n_instances"] == 72 and len(pfms[top["id"]]) == 24
    assert CTCF_SITE in top["consensus"]
    mine = instances[instances.motif == top["id"]]
    assert (mine.end - mine.start == 24).all() and all(CTCF_SITE in s for s in mine.sequence)
    assert (pfms[top["id"]].sum(axis=1) == 72).all()


def test_attention_motifs_matches_the_planted_site_to_jaspar_ctcf(checkpoints, monkeypatch):
    positives, scores = planted()
    monkeypatch.setattr(_motifs, "attention_scores", lambda *args, **kwargs: scores)
    model = dn.load(checkpoints(6, num_labels=2))
    result = dn.attention_motifs(model, positives, progress=False)  # negatives: dinucleotide shuffles
    assert isinstance(result, dn.MotifResult)
    top = result.motifs.iloc[0]
    assert top["best_match"] == "CTCF" and top["best_match_id"].startswith("MA")
    assert top["match_p_value"] < 0.01
    for column in (
        "id",
        "consensus",
        "n_instances",
        "n_pos",
        "n_neg",
        "p_adj",
        "best_match",
        "best_match_id",
        "match_score",
    ):
        assert column in result.motifs


def test_attention_motifs_warns_that_a_mean_pooled_head_s_attention_is_flat_for_dnabert_s_method_only(
    checkpoints, tmp_path
):
    model = dn.load(checkpoints(6, num_labels=2))
    model.config.classifier_pooling = "mean"
    positives, _ = planted(n=10)
    with pytest.warns(UserWarning, match="method='seqlets'"):
        dn.attention_motifs(model, positives, shuffles=1, method="dnabert", progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dn.attention_motifs(model, positives, shuffles=1, progress=False)  # auto: seqlets for this head
    with pytest.raises(InputFormatError, match="method = 'meme'"):
        dn.attention_motifs(model, positives, method="meme")


def test_seqlets_pool_inexact_sites_that_dnabert_s_exact_repeats_miss():
    positives, scores = planted(n=60, share=0.5, mismatches=2, seed=3)  # 30 sites, each with 2 letters changed
    rng = np.random.default_rng(9)
    negatives = ["".join(rng.choice(list("ACGT"), size=80)) for _ in range(300)]
    negative_scores = [rng.uniform(0.5, 1.0, size=80) / 10 for _ in range(300)]
    exact, _, _ = find_motifs(positives, scores, negatives, window=24, min_len=5)
    motifs, pfms, instances = seqlet_motifs(positives, scores, negatives, negative_scores, seqlet=14)
    assert len(motifs) >= 1 and motifs["p_adj"].iloc[0] < 1e-6
    assert len(exact) == 0 or exact["n_instances"].iloc[0] < motifs["n_instances"].iloc[0]
    top = pfms[motifs["id"].iloc[0]]
    assert len(top) == 24 and top.sum(axis=1).eq(motifs["n_instances"].iloc[0]).all()
    consensus = motifs["consensus"].iloc[0]
    # the instances read the site on one strand: its consensus holds most of the site's letters
    best = max(
        sum(a == b for a, b in zip(site, consensus[i : i + len(site)]))
        for site in (CTCF_SITE, reverse_complement(CTCF_SITE))
        for i in range(len(consensus) - len(site) + 1)
    )
    assert best >= len(CTCF_SITE) - 3, consensus
    mine = instances[instances["motif"] == motifs["id"].iloc[0]]
    assert (mine["end"] - mine["start"] == 24).all() and set(mine["strand"]) <= {"+", "-"}
    assert dn.compare_motifs(top, top=1)["name"].iloc[0] == "CTCF"


def test_find_seqlets_takes_the_best_windows_above_the_threshold_without_overlap():
    scores = [np.array([0, 0, 5, 5, 0, 0, 0, 4, 4, 0, 1, 1], dtype=float)]
    assert find_seqlets(scores, 2, threshold=3) == [(0, 2), (0, 7)]
    assert find_seqlets(scores, 2, threshold=9) == [(0, 2)]
    assert find_seqlets([np.ones(1)], 2, threshold=0) == []  # shorter than a seqlet


def test_attention_motifs_can_read_the_positive_contributions_of_a_mean_pooled_head(checkpoints):
    model = dn.load(checkpoints(6, num_labels=2), precision="fp32")
    model.config.classifier_pooling = "mean"
    positives, _ = planted(n=10)
    result = dn.attention_motifs(model, positives, shuffles=1, scores_from="contributions", target=1, progress=False)
    expected = dn.token_contributions(model, positives, target=1, progress=False)
    for scores, contributions in zip(result.scores, expected):
        np.testing.assert_allclose(scores, np.clip(contributions, 0, None), rtol=1e-5, atol=1e-9)
    assert (contributions < 0).any()  # the clip did something
    # without a target: the class the model predicts most often for the positives, for every positive
    with torch.no_grad():
        model.network.classifier.bias[1] += 5.0  # so that it is not the first class, which a wrong pick gives
    majority = dn.predict(model, positives, progress=False)["label"].value_counts().idxmax()
    assert majority == "1"
    chosen = dn.attention_motifs(model, positives, shuffles=1, scores_from="contributions", progress=False)
    expected = dn.token_contributions(model, positives, target=majority, progress=False)
    for scores, contributions in zip(chosen.scores, expected):
        np.testing.assert_allclose(scores, np.clip(contributions, 0, None), rtol=1e-5, atol=1e-9)
    with pytest.raises(InputFormatError, match="scores_from"):
        dn.attention_motifs(model, positives, scores_from="gradients")


def test_attention_motifs_runs_on_a_real_model(checkpoints, monkeypatch):
    model = dn.load(checkpoints(6, num_labels=2))
    positives, _ = planted(n=30)
    backgrounds = []
    original = _motifs.find_motifs

    def spy(positives, scores, negatives, **options):
        backgrounds.append(negatives)
        return original(positives, scores, negatives, **options)

    monkeypatch.setattr(_motifs, "find_motifs", spy)
    result = dn.attention_motifs(model, positives, min_instances=2, shuffles=3, progress=False)
    assert len(result.scores) == 30 and all(len(s) == 80 for s in result.scores)
    assert len(backgrounds[0]) == 90 and sorted(backgrounds[0][0]) == sorted(positives[0])  # 3 shuffles each
    with pytest.raises(InputFormatError, match="shuffles"):
        dn.attention_motifs(model, positives, shuffles=0, progress=False)
    assert set(result.instances.columns) >= {"motif", "sequence_id", "start", "end", "sequence"}


def test_compare_motifs_finds_ctcf_on_either_strand():
    ctcf = dn.datasets.jaspar("CTCF")["MA0139.2"]
    matches = dn.compare_motifs(ctcf, top=3)
    assert matches.iloc[0]["id"] == "MA0139.2" and matches.iloc[0]["strand"] == "+"
    assert set(matches.columns) == {"id", "name", "score", "offset", "strand", "p_value", "e_value"}
    flipped = pd.DataFrame(ctcf.to_numpy()[::-1, ::-1], columns=list("ACGT"))
    best = dn.compare_motifs(flipped, top=1).iloc[0]
    assert best["name"] == "CTCF" and best["strand"] == "-" and best["p_value"] < 0.001
    with pytest.raises(InputFormatError, match="at least 5"):
        dn.compare_motifs(ctcf.iloc[:3])
    with pytest.raises(InputFormatError, match="A, C, G, T"):
        dn.compare_motifs(pd.DataFrame({"x": [1]}))


def test_compare_motifs_takes_its_options_by_keyword_and_old_positional_calls_still_work():
    ctcf = dn.datasets.jaspar("CTCF")["MA0139.2"]
    database = dn.datasets.jaspar("CTCF")
    with pytest.warns(DeprecationWarning, match="database=, top= to compare_motifs"):
        old = dn.compare_motifs(ctcf, database, 2)
    pd.testing.assert_frame_equal(old, dn.compare_motifs(ctcf, database=database, top=2))
    with pytest.raises(TypeError, match="3 positional arguments at most"):
        dn.compare_motifs(ctcf, database, 2, 0)


def test_motif_plots_return_axes():
    ctcf = dn.datasets.jaspar("CTCF")["MA0139.2"]
    ax = dn.pl.logo(ctcf)
    assert ax.get_title() == "MA0139.2 CTCF" and len(ax.patches) + len(ax.texts) + len(ax.collections) > 0
    assert dn.pl.logo(ctcf, kind="probability").get_ylabel() == "probability"
    track = dn.pl.attention(
        np.linspace(0, 1, 30), "ACGT" * 7 + "AC", instances=pd.DataFrame({"start": [3], "end": [10]})
    )
    assert len(track.patches) == 1 and "".join(text.get_text() for text in track.texts) == "ACGT" * 7 + "AC"
    stretch = dn.pl.attention(np.ones(200), "A" * 200, start=1000)
    assert stretch.get_xlim() == (999.5, 1199.5) and not stretch.texts  # long: no letters unless asked
    assert [int(tick) for tick in stretch.get_xticks()][:2] == [1000, 1010]
    assert not stretch.lines  # no zero line for scores that are never negative
    signed = dn.pl.attention(np.linspace(-1, 1, 30), "ACGT" * 7 + "AC", ylabel="contribution")
    assert signed.get_ylabel() == "contribution" and signed.get_ylim()[0] < 0 and len(signed.lines) == 1
    top, bottom = dn.pl.motif_match(ctcf.iloc[2:12], ctcf, offset=2)
    assert top.get_xlim() == bottom.get_xlim()
    with pytest.raises(InputFormatError, match="kind"):
        dn.pl.logo(ctcf, kind="bits")
    with pytest.raises(InputFormatError, match="scores for a sequence"):
        dn.pl.attention(np.ones(3), "ACGTA")


def test_find_motifs_pools_both_strands():
    positives, scores = planted()
    rng = np.random.default_rng(4)
    flipped = rng.random(len(positives)) < 0.5
    positives = [reverse_complement(s) if f else s for s, f in zip(positives, flipped)]
    scores = [score[::-1] if f else score for score, f in zip(scores, flipped)]
    negatives = ["".join(rng.choice(list("ACGT"), size=80)) for _ in range(120)]
    motifs, pfms, instances = find_motifs(positives, scores, negatives)
    top = motifs.iloc[0]
    assert top["n_pos"] == 72 and top["n_instances"] == 72
    site = CTCF_SITE if CTCF_SITE in top["consensus"] else reverse_complement(CTCF_SITE)
    assert site in top["consensus"]
    mine = instances[instances.motif == top["id"]]
    assert set(mine.strand) == {"+", "-"} and {s.find(site) for s in mine.sequence} == {top["consensus"].find(site)}
    for row in mine.itertuples():
        window = positives[row.sequence_id][row.start : row.end]
        assert row.sequence == (window if row.strand == "+" else reverse_complement(window))
    forward_only = find_motifs(positives, scores, negatives, both_strands=False)[0]
    assert forward_only.n_pos.max() < 72
