"""attention_scores against the DNABERT-viz recipe computed from output_attentions in fp32."""

import numpy as np
import pytest
from transformers import BertForSequenceClassification

import dnabert_nb as dn
from dnabert_nb import InputFormatError


def recipe(folder, sequence, k, layer=-1, heads=None):
    """DNABERT-viz from full attention maps: [CLS] row, heads summed, specials dropped, k-mer → nucleotide mean, L2."""
    network = BertForSequenceClassification.from_pretrained(folder, attn_implementation="eager").eval()
    encoded = dn.KmerTokenizer(k).encode([sequence])
    import torch

    with torch.no_grad():
        attentions = network(input_ids=torch.from_numpy(encoded["input_ids"]), output_attentions=True).attentions
    maps = attentions[layer][0].numpy()  # heads x L x L
    if heads is not None:
        maps = maps[heads]
    kmer_scores = [maps[:, 0, i].sum() for i in range(1, maps.shape[-1] - 1)]
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
