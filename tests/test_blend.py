"""finetune's blend with the k-mer baseline: counts read from tokens, the share chosen on valid, saved, loaded."""

import itertools
import json

import numpy as np
import pandas as pd
import pytest
import torch
from test_finetune import FAST

import dnabert_nb as dn
from dnabert_nb import CheckpointError
from dnabert_nb.core.kmer_blend import attach, blend_of, kmer_blend
from dnabert_nb.core.tokenizer import pack_inputs
from dnabert_nb.training import blend as _blend
from dnabert_nb.training.blend import baseline_blend
from dnabert_nb.training.selection import model_kind

BLENDING = {**FAST, "blend": True, "baseline": True}


def gc_rich(n, seed):
    """60-90 nt sequences whose class is their composition alone: class 1 draws G and C twice as often."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        label = int(rng.integers(2))
        weights = [1, 2, 2, 1] if label else [2, 1, 1, 2]
        letters = rng.choice(list("ACGT"), size=int(rng.integers(60, 90)), p=np.array(weights) / 6)
        rows.append(("".join(letters), label))
    return pd.DataFrame(rows, columns=["sequence", "label"])


@pytest.fixture(scope="module")
def data():
    return gc_rich(200, 0), gc_rich(80, 1)


@pytest.fixture(scope="module")
def six(checkpoints):
    return dn.load(checkpoints(6))


@pytest.mark.parametrize("k", [3, 4, 6])
def test_the_blend_at_share_0_predicts_what_the_baseline_predicts(six, data, k):
    """Every k-mer of a window, the last token's later ones included, is read from its tokens."""
    train, valid = data
    base = dn.baseline(train, valid, k=k)
    model = dn.finetune(six, train, valid, **{**FAST, "epochs": 1})
    attach(model.network, baseline_blend(model, base, 0.0))
    expected = base.predict(valid).filter(like="prob_").to_numpy()
    got = dn.predict(model, valid, progress=False).filter(like="prob_").to_numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_a_blend_of_a_model_is_the_weighted_mean_of_the_two_probabilities(six, data):
    train, valid = data
    base = dn.baseline(train, valid, k=4)
    model = dn.finetune(six, train, valid, **{**FAST, "epochs": 1})
    alone = dn.predict(model, valid, progress=False).filter(like="prob_").to_numpy()
    attach(model.network, baseline_blend(model, base, 0.25))
    blended = dn.predict(model, valid, progress=False).filter(like="prob_").to_numpy()
    counts = base.predict(valid).filter(like="prob_").to_numpy()
    np.testing.assert_allclose(blended, 0.25 * alone + 0.75 * counts, atol=1e-5)
    assert "kmer_blend={'share': 0.25, 'k': 4}" in repr(model)


def test_finetune_blends_where_k_mer_counts_score_higher_on_valid_and_saves_the_blend(six, data, tmp_path, capsys):
    train, valid = data
    model = dn.finetune(six, train, valid, **{**BLENDING, "progress": True}, output_dir=tmp_path)
    blend = blend_of(model.network)
    assert blend is not None and blend.share < 1  # composition is the k-mer counts' game, not a 2-epoch model's
    assert model.checkpoint == tmp_path / "kmer-blend"
    assert model.metrics == pytest.approx(dn.evaluate(model, valid, progress=False))
    assert model.metrics["mcc"] >= model.baseline.valid_scores[model.baseline.k]  # share 0 is the baseline itself
    assert model.history.attrs["model"] == model_kind(model) and "k-mer counts" in model_kind(model)
    out = capsys.readouterr().out
    assert "valid mcc by the model's share of a blend with k-mer counts: 1: " in out
    reloaded = dn.load(model.checkpoint)
    assert blend_of(reloaded.network).share == blend.share
    pd.testing.assert_frame_equal(dn.predict(reloaded, valid, progress=False), dn.predict(model, valid, progress=False))
    int8 = dn.predict(reloaded, valid, precision="int8", progress=False)
    assert (int8["label"] == dn.predict(reloaded, valid, progress=False)["label"]).mean() > 0.9

    again = dn.finetune(reloaded, train, valid, **{**FAST, "epochs": 1})  # trains the network, not the blend
    assert blend_of(again.network) is None and "kmer_blend" not in again.config.to_dict()
    assert blend_of(reloaded.network) is not None  # the model it started from is left as it was


def test_linear_probe_blends_as_finetune_does(encoder, data):
    train, valid = data
    probe = dn.linear_probe(encoder, train, valid, progress=False)
    assert blend_of(probe.network) is not None and model_kind(probe).startswith(("linear probe", "k-mer counts"))
    assert probe.metrics == pytest.approx(dn.evaluate(probe, valid, progress=False))
    assert blend_of(dn.linear_probe(encoder, train, valid, blend=False, progress=False).network) is None


def test_no_blend_when_the_model_alone_scores_best_or_blend_is_off(six, data, monkeypatch):
    train, valid = data
    assert blend_of(dn.finetune(six, train, valid, **{**BLENDING, "blend": False}).network) is None
    monkeypatch.setattr(_blend, "SHARES", (1.0,))
    model = dn.finetune(six, train, valid, **BLENDING)
    assert blend_of(model.network) is None and model_kind(model) == "fine-tuned network"


def test_a_new_head_drops_the_blend_and_a_bad_blend_entry_is_refused(six, data, tmp_path):
    train, valid = data
    model = dn.finetune(six, train, valid, **{**FAST, "epochs": 1})
    attach(model.network, baseline_blend(model, dn.baseline(train, valid, k=3), 0.5))
    folder = model.save(tmp_path / "blended")
    with pytest.warns(dn.UntrainedHeadWarning):
        three = dn.load(folder, num_labels=3, labels=["a", "b", "c"])
    assert blend_of(three.network) is None and "kmer_blend" not in three.config.to_dict()
    config = json.loads((folder / "config.json").read_text())
    config["kmer_blend"] = {"share": 2, "k": 3}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "checksums.sha256").unlink()
    with pytest.raises(CheckpointError, match="kmer_blend"):
        dn.load(folder)


def test_the_k_mer_logits_count_every_k_mer_of_each_window(six):
    """Counts from tokens equal counts from the letters, windows of several lengths in one padded batch."""
    tokenizer = six.tokenizer
    kmers = ["".join(letters) for letters in itertools.product("ACGT", repeat=3)]
    coefficients = np.arange(len(kmers), dtype=np.float64)[None, :] / 100
    blend = kmer_blend(tokenizer, kmers, coefficients, np.array([0.5]), 0.0)
    sequences = ["ACGTACGTTGCA", "GGGCCCAAATTTGGG", "ACGTAC"]
    ids, offsets = tokenizer.kmer_ids(sequences, None)
    counts = np.diff(offsets)
    batch = pack_inputs(ids, offsets[:-1], counts)
    got = blend.kmer_logits(torch.from_numpy(batch["input_ids"]), torch.from_numpy(batch["attention_mask"]))
    index = {kmer: i for i, kmer in enumerate(kmers)}
    for row, sequence in enumerate(sequences):
        expected = 0.5 + sum(coefficients[0, index[sequence[i : i + 3]]] for i in range(len(sequence) - 2))
        assert got[row, 1].item() - got[row, 0].item() == pytest.approx(expected, abs=1e-4)
