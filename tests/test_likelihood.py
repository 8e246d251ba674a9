"""variant_effects(score="likelihood"): a pre-trained model's masked-LM log-likelihood ratio, no labels needed."""

import numpy as np
import pandas as pd
import pytest
import torch

import dnabert_nb as dn
from dnabert_nb import InputFormatError, ModelTaskError
from dnabert_nb.core.tokenizer import CLS_ID, MASK_ID, SEP_ID
from dnabert_nb.dna.alphabet import reverse_complement


@pytest.fixture(scope="module")
def masked_lm(checkpoints):
    return dn.load(checkpoints(4), precision="fp32")


def random_dna(length, seed):
    return "".join(np.random.default_rng(seed).choice(list("ACGT"), size=length))


def direct_llr(model, sequence, position, alt):
    """Mask every 4-mer holding ``position`` in a hand-built input; sum log p(alt k-mer) - log p(ref k-mer)."""
    k, vocab = model.tokenizer.k, model.tokenizer.vocab
    mutated = sequence[:position] + alt + sequence[position + len(alt) :]
    kmers = [sequence[i : i + k] for i in range(len(sequence) - k + 1)]
    masked = [i for i in range(len(kmers)) if i <= position + len(alt) - 1 and position <= i + k - 1]
    ids = [CLS_ID] + [MASK_ID if i in masked else vocab[kmer] for i, kmer in enumerate(kmers)] + [SEP_ID]
    with torch.no_grad():
        scores = model.network(input_ids=torch.tensor([ids])).logits[0].log_softmax(dim=-1)
    return sum(float(scores[i + 1, vocab[mutated[i : i + k]]] - scores[i + 1, vocab[kmers[i]]]) for i in masked), masked


@pytest.mark.parametrize(("position", "alt"), [(30, "T"), (0, "G"), (57, "A"), (20, "GA")])
def test_the_ratio_is_the_masked_lm_s_own_at_every_k_mer_holding_the_change(masked_lm, position, alt):
    sequence = random_dna(60, position)
    ref = sequence[position : position + len(alt)]
    alt = alt if alt != ref else alt.translate(str.maketrans("ACGT", "CATG"))
    edits = pd.DataFrame({"sequence": [sequence], "pos": [position], "ref": [ref], "alt": [alt]})
    row = dn.variant_effects(masked_lm, edits, score="likelihood", progress=False).iloc[0]
    expected, masked = direct_llr(masked_lm, sequence, position, alt)
    assert row["llr"] == pytest.approx(expected, abs=1e-4) and row["llr"] != 0
    assert (row["masked_start"], row["masked_end"]) == (masked[0], masked[-1] + masked_lm.tokenizer.k)


def test_both_strands_gives_a_variant_and_its_reverse_complement_one_score(masked_lm):
    sequence, position = random_dna(70, 9), 33
    ref = sequence[position]
    alt = "A" if ref != "A" else "C"
    forward = pd.DataFrame({"sequence": [sequence], "pos": [position], "ref": [ref], "alt": [alt]})
    backward = pd.DataFrame(
        {
            "sequence": [reverse_complement(sequence)],
            "pos": [len(sequence) - position - 1],
            "ref": [reverse_complement(ref)],
            "alt": [reverse_complement(alt)],
        }
    )
    one, other = (
        dn.variant_effects(masked_lm, edits, score="likelihood", both_strands=True, progress=False)["llr"].iloc[0]
        for edits in (forward, backward)
    )
    assert one == pytest.approx(other, abs=1e-4)


def test_likelihood_needs_a_masked_lm_head_and_equal_lengths(masked_lm, checkpoints):
    sequence = random_dna(40, 1)
    other = str.maketrans("ACGT", "CATG")
    edits = pd.DataFrame(
        {
            "sequence": [sequence] * 2,
            "pos": [5, 9],
            "ref": [sequence[5], sequence[9:11]],
            "alt": [sequence[5].translate(other), sequence[9].translate(other)],
        }
    )
    with pytest.raises(InputFormatError, match=r"rows 1: REF and ALT differ in length"):
        dn.variant_effects(masked_lm, edits, score="likelihood", progress=False)
    with pytest.raises(ModelTaskError, match="masked-LM head"):
        dn.variant_effects(dn.load(checkpoints(4, num_labels=2)), edits.head(1), score="likelihood")
    with pytest.raises(InputFormatError, match="score = 'lm'"):
        dn.variant_effects(masked_lm, edits.head(1), score="lm")


def test_a_likelihood_map_holds_what_variant_effects_gives_each_substitution(masked_lm):
    sequence = random_dna(150, 4)  # longer than the tiny model's input: each position read in a window around it
    ism = dn.mutagenesis(masked_lm, sequence, score="likelihood", positions=[0, 70, 149], progress=False)
    assert ism.attrs["scale"] == "llr" and list(ism.index) == [0, 70, 149]
    edits = pd.DataFrame(
        [(sequence, p, sequence[p], b) for p in (0, 70, 149) for b in "ACGT" if b != sequence[p]],
        columns=["sequence", "pos", "ref", "alt"],
    )
    effects = dn.variant_effects(masked_lm, edits, score="likelihood", progress=False)
    for row in effects.itertuples():
        assert ism.loc[row.pos, row.alt] == pytest.approx(row.llr, abs=1e-5)
    assert all(ism.loc[p, sequence[p]] == 0 for p in (0, 70, 149))
    with pytest.raises(ModelTaskError, match="score='likelihood'"):
        dn.mutagenesis(masked_lm, sequence)
