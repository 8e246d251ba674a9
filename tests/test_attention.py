"""attention_scores against the DNABERT-viz recipe computed from output_attentions in fp32."""

import numpy as np
import pytest
import torch
from transformers import BertForSequenceClassification

import dnabert_nb as dn
from dnabert_nb import InputFormatError


def recipe(folder, sequence, k, layer=-1, heads=None, pooling="cls"):
    """DNABERT-viz from full attention maps: [CLS] row, heads summed, specials dropped, k-mer → nucleotide mean, L2.

    ``pooling="mean"``: the mean of the k-mer query rows replaces the [CLS] row.
    """
    network = BertForSequenceClassification.from_pretrained(folder, attn_implementation="eager").eval()
    encoded = dn.KmerTokenizer(k).encode([sequence])

    with torch.no_grad():
        attentions = network(input_ids=torch.from_numpy(encoded["input_ids"]), output_attentions=True).attentions
    maps = attentions[layer][0].numpy()  # heads x L x L
    if heads is not None:
        maps = maps[heads]
    rows = maps[:, 0] if pooling == "cls" else maps[:, 1:-1].mean(axis=1)  # heads x L
    kmer_scores = [rows[:, i].sum() for i in range(1, maps.shape[-1] - 1)]
    nucleotide = np.zeros(len(sequence))
    count = np.zeros(len(sequence))
    for i, score in enumerate(kmer_scores):
        nucleotide[i : i + k] += score
        count[i : i + k] += 1
    nucleotide /= count
    return nucleotide / np.linalg.norm(nucleotide)


@pytest.mark.parametrize(("layer", "heads"), [(-1, None), (0, None), (-1, [1])])
def test_equals_the_recipe_from_output_attentions(checkpoints, layer, heads):
    folder = checkpoints(5, num_labels=2)
    model = dn.load(folder)
    rng = np.random.default_rng(0)
    sequences = ["".join(rng.choice(list("ACGT"), size=n)) for n in (12, 57, 130)]
    ours = dn.attention_scores(model, sequences, layer=layer, heads=heads, precision="fp32", progress=False)
    for sequence, scores in zip(sequences, ours):
        assert scores.shape == (len(sequence),)
        np.testing.assert_allclose(scores, recipe(folder, sequence, 5, layer, heads), atol=1e-5)


@pytest.mark.parametrize("layer", [-1, 0])
def test_a_mean_pooled_head_reads_the_mean_of_the_kmer_rows(checkpoints, tmp_path, layer):
    model = dn.load(checkpoints(5, num_labels=2))
    model.config.classifier_pooling = "mean"
    with torch.no_grad():  # peaked attention (a fresh tiny model's is near uniform), so that rows differ
        for block in model.network.bert.encoder.layer:
            block.attention.self.query.weight *= 30
    model.save(tmp_path / "mean")
    mean_model = dn.load(tmp_path / "mean")
    rng = np.random.default_rng(2)
    sequences = ["".join(rng.choice(list("ACGT"), size=n)) for n in (12, 57, 130)]
    ours = dn.attention_scores(mean_model, sequences, layer=layer, precision="fp32", progress=False)
    for sequence, scores in zip(sequences, ours):
        expected = recipe(tmp_path / "mean", sequence, 5, layer, pooling="mean")
        np.testing.assert_allclose(scores, expected, atol=1e-5)
        assert not np.allclose(expected, recipe(tmp_path / "mean", sequence, 5, layer), atol=1e-3)


def test_long_sequences_average_overlapping_windows(checkpoints):
    model = dn.load(checkpoints(6, num_labels=2))
    sequence = "".join(np.random.default_rng(1).choice(list("ACGT"), size=1200))
    (scores,) = dn.attention_scores(model, [sequence], precision="fp32", progress=False)
    assert scores.shape == (1200,) and np.linalg.norm(scores) == pytest.approx(1, abs=1e-5) and (scores > 0).all()


def test_bad_layer_and_heads(checkpoints):
    model = dn.load(checkpoints(6, num_labels=2))
    with pytest.raises(InputFormatError, match="layer"):
        dn.attention_scores(model, ["ACGTACGTAC"], layer=2)
    with pytest.raises(InputFormatError, match="heads"):
        dn.attention_scores(model, ["ACGTACGTAC"], heads=[5])
