"""predict() and embed() against the reference pipeline, and on every accepted input form."""

import numpy as np
import pandas as pd
import pytest
import torch

import dnabert_nb as dn
from dnabert_nb import InputFormatError, InvalidSequenceError, ModelTaskError
from dnabert_nb.testing import reference_predict


def random_sequences(n, low, high, seed=0):
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list("ACGT"), size=length)) for length in rng.integers(low, high, size=n)]


@pytest.fixture(scope="module")
def classifier(checkpoints):
    return dn.load(checkpoints(6, num_labels=2), labels=["neg", "pos"])


@pytest.mark.parametrize("k", [3, 4, 5, 6])
def test_fp32_equals_reference_pipeline(checkpoints, k):
    folder = checkpoints(k, num_labels=3)
    sequences = random_sequences(50, 20, 300, seed=k)
    ours = dn.predict(dn.load(folder), sequences, precision="fp32", batch_size=8, progress=False)
    reference = reference_predict(folder, sequences, k, batch_size=16)
    np.testing.assert_allclose(ours[["prob_0", "prob_1", "prob_2"]].to_numpy(), reference, atol=1e-5, rtol=0)
    assert ours["label"].tolist() == [str(i) for i in reference.argmax(axis=1)]
    np.testing.assert_allclose(ours["score"], reference.max(axis=1), atol=1e-5)


def test_auto_precision_agrees_with_fp32(checkpoints):
    model = dn.load(checkpoints(6, num_labels=2, seed=1))
    sequences = random_sequences(400, 50, 300, seed=2)
    fast = dn.predict(model, sequences, precision="auto", progress=False)
    exact = dn.predict(model, sequences, precision="fp32", progress=False)
    assert (fast["label"] == exact["label"]).mean() >= 0.995
    np.testing.assert_allclose(fast["prob_1"], exact["prob_1"], atol=0.02)


def test_int8_calls_what_fp32_calls_on_a_ready_model():
    data = dn.datasets.load("splice")
    test = data[data.split == "test"]
    model = dn.load("mini6-splice", precision="int8")
    quantised = dn.predict(model, test, progress=False)  # the model's own precision
    exact = dn.predict(model, test, precision="fp32", progress=False)
    encoder = model.inference_network(torch.qint8).bert.encoder
    assert "quantized.dynamic" in type(encoder.layer[0].intermediate.dense).__module__
    assert (quantised["label"] == exact["label"]).mean() >= 0.99
    columns = [f"prob_{name}" for name in model.labels]
    change = np.abs(quantised[columns].to_numpy() - exact[columns].to_numpy())
    assert 0 < change.mean() < 0.01  # another computation (the int8 one), with the same calls


def test_int8_runs_through_every_verb_close_to_fp32():
    model = dn.load("mini6-splice")
    data = dn.datasets.load("splice")
    sequence = data[(data.split == "test") & (data.label == "donor")].sequence.iloc[0]
    for verb in (
        lambda precision: dn.predict(model, sequence, precision=precision, progress=False)[["prob_donor"]],
        lambda precision: dn.embed(model, sequence, precision=precision, progress=False),
        lambda precision: dn.attention_scores(model, sequence, precision=precision, progress=False)[0],
        lambda precision: dn.mutagenesis(model, sequence, target="donor", precision=precision, progress=False),
        lambda precision: dn.token_contributions(model, sequence, precision=precision, progress=False)[0],
    ):
        exact, quantised = np.asarray(verb("fp32")), np.asarray(verb("int8"))
        assert quantised.shape == exact.shape
        assert np.abs(quantised - exact).max() <= 0.1 * np.abs(exact).max() + 1e-3


def test_result_frame_and_input_forms(classifier, tmp_path):
    sequences = random_sequences(5, 30, 60)
    by_list = dn.predict(classifier, sequences, progress=False)
    assert list(by_list.columns) == ["id", "length", "label", "score", "prob_neg", "prob_pos"]
    assert by_list["id"].tolist() == [0, 1, 2, 3, 4]
    assert by_list["length"].tolist() == [len(s) for s in sequences]
    np.testing.assert_allclose(by_list[["prob_neg", "prob_pos"]].sum(axis=1), 1, atol=1e-6)

    ids = [f"s{i}" for i in range(5)]
    frame = pd.DataFrame({"id": ids, "sequence": sequences})
    fasta = tmp_path / "input.fa"
    fasta.write_text("".join(f">{i} some description\n{s[:25]}\n{s[25:]}\n" for i, s in zip(ids, sequences)))
    for given in (frame, pd.Series(sequences, index=ids), fasta, str(fasta)):
        result = dn.predict(classifier, given, progress=False)
        assert result["id"].tolist() == ids
        np.testing.assert_allclose(result["prob_pos"], by_list["prob_pos"], atol=1e-6)
    single = dn.predict(classifier, sequences[0].lower(), progress=False)
    assert len(single) == 1 and single["prob_pos"][0] == pytest.approx(by_list["prob_pos"][0], abs=1e-6)


def test_long_sequences_average_their_windows(classifier):
    long_sequence = random_sequences(1, 1400, 1401, seed=5)[0]
    windows = dn.predict(
        classifier, [long_sequence, "ACGTACGTAC"], return_windows=True, window_overlap=50, progress=False
    )
    first = windows[windows["id"] == 0]
    assert first["window"].tolist() == [0, 1, 2] and first["end"].iloc[-1] == 1400
    pieces = [long_sequence[s:e] for s, e in zip(first["start"], first["end"])]
    alone = dn.predict(classifier, pieces, progress=False)
    np.testing.assert_allclose(first["prob_pos"], alone["prob_pos"], atol=1e-6)
    whole = dn.predict(classifier, [long_sequence], window_overlap=50, progress=False)
    assert whole["prob_pos"][0] == pytest.approx(alone["prob_pos"].mean(), abs=1e-6)
    assert whole["length"][0] == 1400


def test_regression_and_multilabel_outputs(checkpoints):
    with pytest.warns(dn.UntrainedHeadWarning):
        regressor = dn.load(checkpoints(6), num_labels=1)
    values = dn.predict(regressor, random_sequences(3, 30, 40), progress=False)
    assert list(values.columns) == ["id", "length", "value"]
    with pytest.warns(dn.UntrainedHeadWarning):
        tagger = dn.load(checkpoints(6), labels=["a", "b", "c"])
    tagger.config.problem_type = "multi_label_classification"
    tags = dn.predict(tagger, random_sequences(3, 30, 40), progress=False)
    assert {"prob_a", "prob_b", "prob_c", "label", "score"} <= set(tags.columns)
    probabilities = tags[["prob_a", "prob_b", "prob_c"]].to_numpy()
    assert ((probabilities > 0) & (probabilities < 1)).all()
    assert not np.allclose(probabilities.sum(axis=1), 1)  # independent sigmoids, not a softmax


def test_bad_inputs_to_predict(classifier, checkpoints, tmp_path):
    with pytest.raises(InvalidSequenceError, match="'b' has '>' at position 4"):
        dn.predict(classifier, pd.DataFrame({"id": ["a", "b"], "sequence": ["ACGTACGT", "ACG>TACG"]}), progress=False)
    with pytest.raises(InputFormatError, match="no 'sequence' column"):
        dn.predict(classifier, pd.DataFrame({"seq": ["ACGTACGT"]}), progress=False)
    with pytest.raises(InputFormatError, match="does not exist"):
        dn.predict(classifier, "missing.fa", progress=False)
    bad_fasta = tmp_path / "bad.fasta"
    bad_fasta.write_text("ACGT\n>x\nACGT\n")
    with pytest.raises(InputFormatError, match="line 1"):
        dn.predict(classifier, bad_fasta, progress=False)
    with pytest.raises(InputFormatError, match="Cannot read sequences from a value of type int"):
        dn.predict(classifier, 42, progress=False)
    with pytest.raises(InputFormatError, match="batch_size"):
        dn.predict(classifier, ["ACGTACGT"], batch_size=0, progress=False)
    with pytest.raises(ModelTaskError, match="no task head"):
        dn.predict(dn.load(checkpoints(6)), ["ACGTACGT"], progress=False)


def test_embed_cls_and_mean_pooling(checkpoints):
    model = dn.load(checkpoints(6))
    sequences = random_sequences(6, 20, 80, seed=3)
    cls = dn.embed(model, sequences, progress=False, precision="fp32")
    mean = dn.embed(model, sequences, pooling="mean", progress=False, precision="fp32")
    assert cls.shape == mean.shape == (6, 32) and cls.dtype == np.float32
    with torch.no_grad():
        for i, sequence in enumerate(sequences):
            batch = {k: torch.from_numpy(v) for k, v in model.tokenizer.encode([sequence]).items()}
            hidden = model.encoder(**batch).last_hidden_state[0]
            np.testing.assert_allclose(cls[i], hidden[0].numpy(), atol=1e-5)
            np.testing.assert_allclose(mean[i], hidden[1:-1].mean(dim=0).numpy(), atol=1e-5)
    embedding_layer = dn.embed(model, sequences[:2], layer=0, progress=False, precision="fp32")
    assert not np.allclose(embedding_layer, cls[:2])
    with pytest.raises(InputFormatError, match="layer = 5"):
        dn.embed(model, sequences, layer=5, progress=False)
    with pytest.raises(InputFormatError, match="pooling"):
        dn.embed(model, sequences, pooling="max", progress=False)


def test_embed_long_sequence_is_mean_of_windows(checkpoints):
    model = dn.load(checkpoints(6))
    long_sequence = random_sequences(1, 900, 901, seed=4)[0]
    windows = model.tokenizer.windows([900], overlap=0)
    pieces = [long_sequence[s:e] for s, e in zip(windows.start, windows.end)]
    whole = dn.embed(model, [long_sequence], window_overlap=0, pooling="mean", progress=False, precision="fp32")
    parts = dn.embed(model, pieces, pooling="mean", progress=False, precision="fp32")
    np.testing.assert_allclose(whole[0], parts.mean(axis=0), atol=1e-5)


def test_low_precision_copy_follows_weight_updates(classifier):
    sequences = random_sequences(4, 30, 60, seed=6)
    before = dn.predict(classifier, sequences, precision="bf16", progress=False)["prob_pos"].to_numpy()
    with torch.no_grad():
        classifier.network.classifier.bias += torch.tensor([-3.0, 3.0])
    after = dn.predict(classifier, sequences, precision="bf16", progress=False)["prob_pos"].to_numpy()
    with torch.no_grad():
        classifier.network.classifier.bias -= torch.tensor([-3.0, 3.0])
    assert (after > before + 0.3).all()


def test_empty_input_is_a_clear_error(classifier):
    with pytest.raises(InputFormatError, match="No sequences"):
        dn.predict(classifier, [], progress=False)
    with pytest.raises(InputFormatError, match="No sequences"):
        dn.embed(classifier, pd.DataFrame({"sequence": []}), progress=False)
    assert classifier.tokenizer.encode([])["input_ids"].shape == (0, 2)
