import numpy as np
import pytest
import torch

import dnabert_nb as dn
from dnabert_nb.core.inference import token_mean
from dnabert_nb.dna.errors import ModelTaskError
from dnabert_nb.interpret.attention import kmer_to_nucleotide


@pytest.fixture(scope="module")
def mean_model(checkpoints):
    model = dn.load(checkpoints(5, num_labels=3), precision="fp32")
    model.config.classifier_pooling = "mean"
    return model


def autograd_contributions(model, sequence, target):
    """Each k-mer's share of the pooled vector times the autograd gradient of the target's centred logit."""
    network = model.network.eval()
    input_ids = torch.from_numpy(model.tokenizer.encode([sequence])["input_ids"])
    with torch.no_grad():
        hidden = network.bert(input_ids=input_ids).last_hidden_state[0]
    pooled = token_mean(hidden[None], torch.ones_like(input_ids)).requires_grad_()
    logits = network.classifier(network.bert.pooler(pooled[:, None]))[0]
    (logits[target] - logits.mean()).backward()
    kmers = hidden[1:-1].detach()
    return kmer_to_nucleotide((kmers @ pooled.grad[0] / len(kmers)).numpy().astype(np.float64), model.k)


def test_contributions_are_the_kmers_shares_times_the_head_s_gradient(mean_model):
    rng = np.random.default_rng(3)
    sequences = ["".join(rng.choice(list("ACGT"), size=n)) for n in (20, 61)]
    for target in (0, 2):
        ours = dn.token_contributions(mean_model, sequences, target=target, progress=False)
        for sequence, scores in zip(sequences, ours):
            assert scores.shape == (len(sequence),)
            expected = autograd_contributions(mean_model, sequence, target)
            np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-9)


def test_without_a_target_each_sequence_reads_its_predicted_class(mean_model):
    rng = np.random.default_rng(4)
    sequences = ["".join(rng.choice(list("ACGT"), size=40)) for _ in range(6)]
    predicted = dn.predict(mean_model, sequences, progress=False)["label"]
    ours = dn.token_contributions(mean_model, sequences, progress=False)
    for sequence, label, scores in zip(sequences, predicted, ours):
        expected = dn.token_contributions(mean_model, sequence, target=label, progress=False)[0]
        np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-9)
        other = next(name for name in mean_model.labels if name != label)
        assert not np.allclose(scores, dn.token_contributions(mean_model, sequence, target=other, progress=False)[0])


def test_long_sequences_average_their_windows(mean_model):
    sequence = "".join(np.random.default_rng(5).choice(list("ACGT"), size=900))
    (scores,) = dn.token_contributions(mean_model, [sequence], target=1, progress=False)
    assert scores.shape == (900,) and np.isfinite(scores).all() and np.abs(scores).max() > 0


def test_a_cls_head_or_no_head_is_refused_with_the_way_out(checkpoints):
    with pytest.raises(ModelTaskError, match="attention_scores"):
        dn.token_contributions(dn.load(checkpoints(5, num_labels=2)), ["ACGTACGTACGT"])
    with pytest.raises(ModelTaskError, match="finetune"):
        dn.token_contributions(dn.load(checkpoints(5)), ["ACGTACGTACGT"])
