"""Both strands: predict and embed average a sequence with its reverse complement."""

import numpy as np
import pandas as pd
import pytest

import dnabert_nb as dn
from dnabert_nb.core.tokenizer import pack_inputs, reverse_complement_ids
from dnabert_nb.dna.alphabet import reverse_complement
from dnabert_nb.training.finetune_job import flip_strands


@pytest.fixture(scope="module")
def classifier(checkpoints):
    return dn.load(checkpoints(4, num_labels=2), precision="fp32")


def sequences(n, seed, length=(30, 400)):
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list("ACGT"), size=int(rng.integers(*length)))) for _ in range(n)]


def test_predict_on_both_strands_is_the_mean_of_the_two_strands_and_the_same_for_either(classifier):
    texts = sequences(12, 0)  # up to 400 nt: several windows each for the tiny model
    texts[0] = texts[0].lower().replace("t", "u")  # RNA in lower case is read as DNA on both strands
    forward = dn.predict(classifier, texts, progress=False)
    reverse = dn.predict(classifier, [reverse_complement(t.upper().replace("U", "T")) for t in texts], progress=False)
    both = dn.predict(classifier, texts, both_strands=True, progress=False)
    columns = ["prob_0", "prob_1"]
    expected = (forward[columns].to_numpy() + reverse[columns].to_numpy()) / 2
    np.testing.assert_allclose(both[columns].to_numpy(), expected, atol=1e-6)
    assert list(both["label"]) == [["0", "1"][i] for i in expected.argmax(axis=1)]
    assert both["id"].tolist() == forward["id"].tolist() and both["length"].tolist() == forward["length"].tolist()
    other_strand = dn.predict(classifier, [reverse_complement(t) for t in texts[1:]], both_strands=True, progress=False)
    np.testing.assert_allclose(other_strand[columns].to_numpy(), both[columns].to_numpy()[1:], atol=1e-6)


def test_embed_on_both_strands_is_the_mean_of_the_two_strands(classifier):
    texts = sequences(5, 1)
    forward = dn.embed(classifier, texts, pooling="mean", progress=False)
    reverse = dn.embed(classifier, [reverse_complement(t) for t in texts], pooling="mean", progress=False)
    both = dn.embed(classifier, pd.Series(texts), pooling="mean", both_strands=True, progress=False)
    np.testing.assert_allclose(both, (forward + reverse) / 2, atol=1e-6)


def test_both_strands_names_a_bad_letter_where_it_is_and_refuses_per_window_rows(classifier):
    with pytest.raises(dn.InvalidSequenceError, match="position 3"):
        dn.predict(classifier, ["ACXGTACGTACGT"], both_strands=True, progress=False)
    with pytest.raises(dn.InputFormatError, match="return_windows"):
        dn.predict(classifier, ["ACGTACGTACGT"], both_strands=True, return_windows=True, progress=False)


def test_a_run_of_k_mer_ids_read_backwards_through_the_table_is_the_reverse_complement_s(classifier):
    tokenizer = classifier.tokenizer
    table = reverse_complement_ids(tokenizer)
    texts = ["ACGTTGCAAGTCNNAGCTAGGT", "TTTTGGGGCCCCAAAAT"]
    ids, bounds = tokenizer.kmer_ids(texts)
    inputs = pack_inputs(ids, bounds[:-1], np.diff(bounds))
    flip_strands(inputs["input_ids"], np.diff(bounds), np.array([True, False]), table)
    expected, _ = tokenizer.kmer_ids([reverse_complement(texts[0])])
    assert inputs["input_ids"][0, 1 : 1 + len(expected)].tolist() == expected.tolist()
    assert inputs["input_ids"][1, 1 : 1 + bounds[2] - bounds[1]].tolist() == ids[bounds[1] : bounds[2]].tolist()
    assert (table[table] == np.arange(len(table))).all()  # twice is the identity


def test_finetune_on_random_strands_learns_a_strandless_motif_the_same_for_a_seed(encoder, tmp_path):
    from test_finetune import FAST, planted

    train = planted(240, 0)
    flipped = train.sample(frac=0.5, random_state=0).index  # the motif on either strand, as in peaks
    train.loc[flipped, "sequence"] = [reverse_complement(s) for s in train.loc[flipped, "sequence"]]
    valid = planted(80, 1)
    options = {**FAST, "epochs": 3, "reverse_complement": True}
    model = dn.finetune(encoder, train, valid, **options, output_dir=tmp_path / "run")
    assert model.metrics["auroc"] > 0.8
    again = dn.finetune(encoder, train, valid, **options)
    assert again.metrics == model.metrics  # the strands drawn are the seed's
    with pytest.raises(dn.InputFormatError, match=r"other settings \(reverse_complement\)"):
        dn.finetune(
            encoder, train, valid, **{**options, "reverse_complement": False}, output_dir=tmp_path / "run", resume=True
        )
