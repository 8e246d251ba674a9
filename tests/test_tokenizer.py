"""KmerTokenizer against the official DNABERT vocabularies and the reference BertTokenizer."""

import numpy as np
import pytest
from official import official_folder, official_vocab

from dnabert_nb import InputFormatError, InvalidSequenceError, KmerTokenizer
from dnabert_nb.testing import reference_kmer_text, reference_tokenizer


@pytest.mark.parametrize("k", [3, 4, 5, 6])
def test_vocabulary_equals_official_vocab_txt(k):
    tokenizer = KmerTokenizer(k)
    official = official_vocab(k)
    assert tokenizer.tokens == official
    assert tokenizer.vocab == {token: i for i, token in enumerate(official)}
    assert tokenizer.vocab_size == {3: 69, 4: 261, 5: 1029, 6: 4101}[k]
    assert KmerTokenizer.k_for_vocab_size(len(official)) == k


@pytest.mark.parametrize("k", [3, 4, 5, 6])
def test_encode_matches_reference_bert_tokenizer(k):
    rng = np.random.default_rng(k)
    sequences = ["".join(rng.choice(list("ACGT"), size=n)) for n in rng.integers(k, 200, size=40)]
    sequences[3] = sequences[3][:10] + "N" + sequences[3][11:]  # ambiguous base → [UNK]
    sequences[5] = sequences[5].lower()
    ours = KmerTokenizer(k).encode(sequences)
    reference = reference_tokenizer(official_folder(k))(
        [reference_kmer_text(s, k) for s in sequences], padding=True, return_tensors="np"
    )
    np.testing.assert_array_equal(ours["input_ids"], reference["input_ids"])
    np.testing.assert_array_equal(ours["attention_mask"], reference["attention_mask"])
    assert (ours["input_ids"][3] == 1).sum() == k  # every k-mer covering the N is [UNK]


def test_ambiguity_letters_rna_and_whitespace():
    tokenizer = KmerTokenizer(3)
    ids, _ = tokenizer.kmer_ids(["ACGU", "ACGT", "AC\nG T", "ARG"])
    assert list(ids[0:2]) == list(ids[2:4]) == list(ids[4:6])  # U is T; whitespace is dropped
    assert ids[6] == tokenizer.vocab["[UNK]"]
    for letter in "NRYSWKMBDHVnrysw":
        assert tokenizer.kmer_ids([f"AC{letter}GT"])[0].tolist() == [1, 1, 1]


@pytest.mark.parametrize(
    ("sequences", "ids", "name", "position", "fragment"),
    [
        (["ACGTACGT", "ACGT-ACGT"], None, "#1", 5, "'-'"),
        (["ACGTXACG"], ["chr1:100-105"], "'chr1:100-105'", 5, "'X'"),
        (["ACGTACGT", ""], ["a", "b"], "'b'", None, "is empty"),
        (["ACGTA"], None, "#0", None, "has 5 nt"),
        (["ACGTAé"], None, "#0", 6, "'é'"),
        (["ACGT1CGT"], None, "#0", 5, "'1'"),
    ],
)
def test_bad_sequences_name_the_sequence_and_position(sequences, ids, name, position, fragment):
    with pytest.raises(InvalidSequenceError) as caught:
        KmerTokenizer(6).encode(sequences, ids)
    assert caught.value.sequence_id == name
    assert caught.value.position == position
    assert fragment in str(caught.value) and name in str(caught.value)


def test_non_string_sequence_is_named():
    with pytest.raises(InvalidSequenceError, match="#1 is a float"):
        KmerTokenizer(3).encode(["ACGT", float("nan")])


def test_unsupported_k_and_too_long_sequence():
    with pytest.raises(InputFormatError, match="k = 7"):
        KmerTokenizer(7)
    with pytest.raises(InputFormatError, match="windows"):
        KmerTokenizer(6).encode(["A" * 516])
    assert KmerTokenizer(6).encode(["A" * 515])["input_ids"].shape == (1, 512)


@pytest.mark.parametrize("overlap", [0, 50, 200])
def test_windows_cover_long_sequences_with_the_overlap(overlap):
    tokenizer = KmerTokenizer(6)
    lengths = [6, 515, 516, 1000, 3000]
    windows = tokenizer.windows(lengths, overlap=overlap)
    for index, length in enumerate(lengths):
        mine = windows.sequence_index == index
        start, end = windows.start[mine], windows.end[mine]
        assert start[0] == 0 and end[-1] == length
        assert np.all(end - start == min(length, 515))
        if mine.sum() > 1:
            assert np.all(end[:-1] - start[1:] >= overlap)  # neighbours share at least `overlap` nt
            assert np.all(start[1:] > start[:-1])
    with pytest.raises(InputFormatError, match="window_overlap"):
        tokenizer.windows([1000], overlap=600)
