"""pretrain: DNABERT k-span masking, masked-only loss, checkpoints and exact resume."""

import copy

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertForMaskedLM

import dnabert_nb as dn
from dnabert_nb import InputFormatError
from dnabert_nb.core.tokenizer import MASK_ID, SPECIAL_TOKENS, UNK_ID
from dnabert_nb.testing import TINY_SIZES
from dnabert_nb.training import masking
from dnabert_nb.training import pretrain as _pretrain
from dnabert_nb.training.corpus import Corpus
from dnabert_nb.training.masking import mask_tokens, masked_lm_step

TINY = TINY_SIZES


def random_dna(n, seed=0):
    return "".join(np.random.default_rng(seed).choice(list("ACGT"), size=n))


def test_masking_covers_15_percent_in_spans_of_k_with_80_10_10():
    rng = np.random.default_rng(0)
    kmer_ids = rng.integers(5, 4101, size=(400, 254))
    inputs, labels = mask_tokens(kmer_ids, rng, k=6, vocab_size=4101)
    assert inputs.shape == labels.shape == (400, 256)
    assert (inputs[:, 0] == 2).all() and (inputs[:, -1] == 3).all() and (labels[:, [0, -1]] == -100).all()
    targets = labels != -100
    assert 0.13 < targets[:, 1:-1].mean() < 0.16
    np.testing.assert_array_equal(
        labels[targets], np.hstack([np.zeros((400, 1), int), kmer_ids, np.zeros((400, 1), int)])[targets]
    )
    # every masked run is at least k tokens long, except where it touches the window's edge
    lengths = []
    for row in targets[:, 1:-1]:
        edges = np.flatnonzero(np.diff(np.concatenate([[0], row.astype(int), [0]])))
        lengths += [end - start for start, end in zip(edges[::2], edges[1::2]) if start > 0 and end < 254]
    assert min(lengths) >= 6 and np.mean(np.array(lengths) == 6) > 0.5
    replaced = inputs[targets] == MASK_ID
    kept = inputs[targets] == labels[targets]
    assert replaced.mean() == pytest.approx(0.8, abs=0.02)
    assert kept.mean() == pytest.approx(0.1, abs=0.02)
    assert (inputs[~targets] == np.hstack([np.full((400, 1), 2), kmer_ids, np.full((400, 1), 3)])[~targets]).all()


def test_unknown_kmers_are_never_targets():
    rng = np.random.default_rng(1)
    kmer_ids = np.full((50, 60), UNK_ID)
    inputs, labels = mask_tokens(kmer_ids, rng, k=6, vocab_size=4101)
    assert (labels == -100).all() and (inputs[:, 1:-1] == MASK_ID).any()


def test_masked_only_loss_equals_the_full_decoder_loss():
    torch.manual_seed(0)
    network = BertForMaskedLM(BertConfig(vocab_size=69, **TINY)).eval()
    rng = np.random.default_rng(1)
    inputs, labels = mask_tokens(rng.integers(5, 69, size=(4, 40)), rng, k=3, vocab_size=69)
    inputs, labels = torch.from_numpy(inputs), torch.from_numpy(labels)
    with torch.no_grad():
        loss, correct, count = masked_lm_step(network, inputs, labels)
        full = network(input_ids=inputs, labels=labels)
    torch.testing.assert_close(loss, full.loss)
    chosen = labels != -100
    assert count == int(chosen.sum()) and correct == int((full.logits.argmax(-1)[chosen] == labels[chosen]).sum())


def test_corpus_windows_skip_n_runs():
    tokenizer = dn.KmerTokenizer(6)
    sequence = random_dna(2000) + "N" * 3000 + random_dna(2000, seed=1)
    windows = Corpus(tokenizer, [sequence], [0]).sample(np.random.default_rng(0), 200, 100)
    assert windows.shape == (200, 100)
    assert ((windows == UNK_ID).mean(axis=1) <= 0.05).all()


def _run(tmp_path, steps, **options):
    corpus = [random_dna(3000, seed=i) for i in range(3)]
    settings = dict(
        k=4,
        config=TINY,
        max_length=40,
        batch_size=4,
        lr=1e-3,
        warmup=2,
        eval_every=3,
        eval_windows=8,
        log_every=1,
        save_every=3,
        precision="fp32",
        progress=False,
        seed=3,
        resume=True,
    )
    settings.update(options)
    return dn.pretrain(corpus, steps=steps, output_dir=tmp_path, **settings)


def test_interrupted_and_resumed_run_ends_where_an_uninterrupted_one_does(tmp_path, monkeypatch):
    whole = _run(tmp_path / "whole", 7)
    calls = {"n": 0}
    original = masking.masked_lm_step

    def interrupt_at_step_five(network, inputs, labels, *options):
        if network.training:
            calls["n"] += 1
            if calls["n"] == 5:
                raise KeyboardInterrupt
        return original(network, inputs, labels, *options)

    monkeypatch.setattr(masking, "masked_lm_step", interrupt_at_step_five)
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path / "split", 7)
    monkeypatch.setattr(masking, "masked_lm_step", original)
    assert dn.load(tmp_path / "split" / "last").network is not None  # step 3 was saved
    resumed = _run(tmp_path / "split", 7)
    for a, b in zip(whole.network.parameters(), resumed.network.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert resumed.history["step"].tolist() == whole.history["step"].tolist() == list(range(1, 8))
    np.testing.assert_allclose(resumed.history["loss"], whole.history["loss"])


def test_history_and_checkpoint(tmp_path):
    model = _run(tmp_path, 6)
    history = model.history
    assert {"step", "loss", "masked_accuracy", "tokens_per_s", "lr", "valid_loss", "valid_accuracy"} <= set(
        history.columns
    )
    assert history["valid_loss"].notna().sum() == 2 and (history["tokens_per_s"] > 0).all()
    reloaded = dn.load(tmp_path / "last")
    assert reloaded.k == 4 and reloaded.task is None
    for a, b in zip(model.network.parameters(), reloaded.network.parameters()):
        torch.testing.assert_close(a, b)


def test_resume_with_other_settings_is_refused(tmp_path):
    _run(tmp_path, 3)
    with pytest.raises(InputFormatError, match="other settings \\(lr\\)"):
        _run(tmp_path, 3, lr=5e-4)


def test_bad_arguments():
    with pytest.raises(InputFormatError, match="max_length"):
        dn.pretrain(["ACGT" * 100], max_length=600)
    with pytest.raises(InputFormatError, match="config"):
        dn.pretrain(["ACGT" * 100], config="huge")
    with pytest.raises(InputFormatError, match="empty"):
        dn.pretrain([], progress=False)


def test_kmer_aware_init_builds_embeddings_from_nucleotides():
    tokenizer = dn.KmerTokenizer(4)
    network = BertForMaskedLM(BertConfig(vocab_size=tokenizer.vocab_size, **TINY))
    _pretrain.kmer_aware_init(network, tokenizer, seed=0)
    embeddings = network.bert.embeddings.word_embeddings.weight.detach()
    vocab = tokenizer.vocab
    # additive in (offset, nucleotide): AACG - AACT == CCCG - CCCT (the same last-base swap)
    torch.testing.assert_close(
        embeddings[vocab["AACG"]] - embeddings[vocab["AACT"]], embeddings[vocab["CCCG"]] - embeddings[vocab["CCCT"]]
    )
    assert not torch.allclose(embeddings[vocab["AACG"]], embeddings[vocab["GCAA"]])
    assert embeddings[5:].std().item() == pytest.approx(network.config.initializer_range, rel=0.1)
    positions = network.bert.embeddings.position_embeddings.weight.detach()
    assert torch.corrcoef(positions[:, :2].T)[0, 1].abs() < 0.2 and positions[:, 0].abs().max() > 0  # sin, cos pair


def test_single_kmer_masking_and_continued_pretraining(tmp_path):
    rng = np.random.default_rng(0)
    inputs, labels = mask_tokens(rng.integers(5, 4101, size=(200, 100)), rng, k=1, vocab_size=4101)
    assert 0.13 < (labels != -100).mean() < 0.17
    first = _run(tmp_path / "first", 3, mask_span=1)
    assert first.history["valid_accuracy"].notna().any()
    continued = _run(tmp_path / "second", 3, init=tmp_path / "first" / "last", config="ignored")
    moved = [not torch.equal(a, b) for a, b in zip(first.network.parameters(), continued.network.parameters())]
    assert any(moved) and continued.config.hidden_size == 32
    with pytest.raises(InputFormatError, match="6-mer model but k = 4"):
        _run(
            tmp_path / "third",
            3,
            init=dn.DNABERTModel(BertForMaskedLM(BertConfig(vocab_size=4101, **TINY)), dn.KmerTokenizer(6)),
        )
    with pytest.raises(InputFormatError, match="mask_span"):
        _run(tmp_path / "fourth", 3, mask_span=0)


def test_corpus_split_holds_out_the_tail():
    corpus = Corpus(dn.KmerTokenizer(3), [random_dna(100), random_dna(50, seed=1)], [0, 1])
    head, tail = corpus.split(0.9)
    assert len(head) + len(tail) == len(corpus) == 98 + 48
    np.testing.assert_array_equal(np.concatenate([head.token_ids, tail.token_ids]), corpus.token_ids)
    assert head.offsets.tolist() == [0, 98, 131] and tail.offsets.tolist() == [0, 15]


def test_a_ready_corpus_is_used_as_it_is_and_must_match_k():
    from dnabert_nb.training.corpus import as_corpus

    corpus = Corpus(dn.KmerTokenizer(3), [random_dna(100)], [0])
    assert as_corpus(dn.KmerTokenizer(3), corpus, "training") is corpus
    assert corpus.split(0.5)[1].k == 3
    with pytest.raises(InputFormatError, match="3-mers but the model reads 6-mers"):
        as_corpus(dn.KmerTokenizer(6), corpus, "training")


def test_cls_summary_loss_moves_only_cls_towards_the_mean_of_kmer_outputs():
    hidden = torch.randn(3, 10, 8, requires_grad=True)
    loss = masking.cls_summary_loss(hidden)
    expected = ((hidden[:, 0] - hidden[:, 1:-1].mean(dim=1)) ** 2).mean()
    torch.testing.assert_close(loss, expected)
    loss.backward()
    assert hidden.grad[:, 0].abs().sum() > 0 and (hidden.grad[:, 1:] == 0).all()


def test_pretraining_with_cls_summary_makes_cls_a_summary(tmp_path):
    def distance(model):
        rng = np.random.default_rng(5)
        inputs, _ = mask_tokens(
            rng.integers(5, model.tokenizer.vocab_size, size=(8, 38)), rng, 4, model.tokenizer.vocab_size
        )
        with torch.no_grad():
            hidden = model.network.bert(input_ids=torch.from_numpy(inputs)).last_hidden_state
        return float(masking.cls_summary_loss(hidden))

    plain = _run(tmp_path / "plain", 12)
    summarised = _run(tmp_path / "summary", 12, cls_summary=5.0)
    assert distance(summarised) < 0.5 * distance(plain)
    with pytest.raises(InputFormatError, match="cls_summary"):
        _run(tmp_path / "bad", 3, cls_summary=-1.0)


def test_the_embedded_models_recipe_script_cuts_and_extends_the_context(encoder, monkeypatch):
    """scripts/pretrain_embedded.py: fewer positions keep the first ones; more are fitted so that first-layer
    attention scores their near pairs as the learnt positions score theirs at the same offset."""
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "pretrain_embedded.py"
    spec = importlib.util.spec_from_file_location("pretrain_embedded", path)
    script = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, script)  # its dataclasses look their module up there
    spec.loader.exec_module(script)

    def positions(model):
        return model.network.bert.embeddings.position_embeddings.weight.detach().float()

    short = script.with_context(encoder, 40)
    assert short.config.max_position_embeddings == 40 and torch.equal(positions(short), positions(encoder)[:40])
    longer = script.with_context(short, 100, iterations=300)
    assert torch.equal(positions(longer)[:40], positions(short))
    fresh = _pretrain.sinusoid_positions(
        _pretrain.FRESH_POSITIONS, encoder.config.hidden_size, encoder.config.initializer_range
    )

    def offset_error(added: torch.Tensor) -> float:
        """Squared gap between the scores of pairs that involve a new position (offsets -3 to 3, the boundary
        included) and the learnt pairs' mean at the same offset."""
        scores = script.first_layer_scores(short.network, torch.cat([positions(short), added]))
        gaps = []
        for d in (-3, -2, -1, 1, 2, 3):
            first = torch.arange(max(0, -d), min(100, 100 - d))
            new, old = first[torch.maximum(first, first + d) >= 40], first[torch.maximum(first, first + d) < 40]
            gaps.append(scores[:, new, new + d] - scores[:, old, old + d].mean(1, keepdim=True))
        return float(torch.cat(gaps, dim=1).pow(2).mean())

    assert offset_error(positions(longer)[40:]) < 0.5 * offset_error(fresh[40:100])

    # first_layer_scores are the first layer's attention logits when every token reads the mean k-mer embedding
    network = copy.deepcopy(longer.network).float().eval()
    network.config._attn_implementation = "eager"
    words = network.bert.embeddings.word_embeddings.weight.detach()[len(SPECIAL_TOKENS) :].mean(0)
    with torch.no_grad():
        attention = network.bert(inputs_embeds=words.expand(1, 100, -1), output_attentions=True).attentions[0][0]
        scores = script.first_layer_scores(network, positions(longer))
    np.testing.assert_allclose(scores.softmax(-1).numpy(), attention.numpy(), atol=1e-6)
    assert longer.tokenizer.max_kmers == 98 and script.with_context(longer, None) is longer
    vectors = dn.embed(longer, random_dna(98 + longer.k - 1), progress=False)  # one window of all 100 positions
    assert vectors.shape == (1, encoder.config.hidden_size) and np.isfinite(vectors).all()
