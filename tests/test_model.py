"""load() and DNABERTModel.save() on checkpoints in the official DNABERT format."""

import json
import os
import pickle
import re
import shutil
import warnings

import numpy as np
import pytest
import torch
from transformers import AutoModel, BertTokenizer

import dnabert_nb as dn
from dnabert_nb import CheckpointError, InputFormatError, ModelNotFoundError, UntrainedHeadWarning
from dnabert_nb.core.model import head_pooling


@pytest.mark.parametrize("k", [3, 4, 5, 6])
def test_pretrained_checkpoint_gives_encoder_with_k_from_vocab(checkpoints, k):
    model = dn.load(checkpoints(k))
    assert model.k == k and model.task is None and model.labels is None
    assert model.config.vocab_size == model.tokenizer.vocab_size


def test_new_head_warns_once_that_it_is_untrained(checkpoints):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = dn.load(checkpoints(6), labels=["background", "promoter"])
    untrained = [w for w in caught if issubclass(w.category, UntrainedHeadWarning)]
    assert len(untrained) == 1 and "random weights" in str(untrained[0].message)
    assert len(caught) == 1  # nothing else (e.g. from transformers) is printed
    assert model.task == "classification" and model.labels == ["background", "promoter"]
    # the new head is finetune's default one, so that finetune trains what it would have added itself
    assert head_pooling(model.network) == "mean" and model.config.classifier_layers is None
    reference = torch.load(checkpoints(6) / "pytorch_model.bin", weights_only=True)
    torch.testing.assert_close(
        model.encoder.encoder.layer[0].output.dense.weight, reference["bert.encoder.layer.0.output.dense.weight"]
    )
    torch.testing.assert_close(model.encoder.pooler.dense.weight, reference["bert.pooler.dense.weight"])


def test_finetuned_checkpoint_keeps_its_head(checkpoints):
    folder = checkpoints(6, num_labels=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = dn.load(folder)
    assert model.task == "classification" and model.labels == ["0", "1"]
    reference = torch.load(folder / "pytorch_model.bin", weights_only=True)
    torch.testing.assert_close(model.network.classifier.weight, reference["classifier.weight"])
    assert dn.load(folder, labels=["no", "yes"]).labels == ["no", "yes"]


def test_regression_head(checkpoints):
    with pytest.warns(UntrainedHeadWarning):
        model = dn.load(checkpoints(4), num_labels=1)
    assert model.task == "regression"


def test_hub_config_fields_are_ignored(checkpoints, tmp_path):
    folder = shutil.copytree(checkpoints(6), tmp_path / "hub")
    fields = json.loads((folder / "config.json").read_text())
    fields.update(
        auto_map={"AutoModel": "dnabert_layer.DNABertModel"}, split=10, rnn="lstm", rnn_hidden=768, model_type="bert"
    )
    (folder / "config.json").write_text(json.dumps(fields))
    model = dn.load(folder)
    assert not hasattr(model.config, "auto_map") and not hasattr(model.config, "rnn")


def test_safetensors_and_bin_load_the_same_weights(checkpoints):
    bin_model = dn.load(checkpoints(5, num_labels=3))
    safe_model = dn.load(checkpoints(5, num_labels=3, weights="model.safetensors"))
    for a, b in zip(bin_model.network.parameters(), safe_model.network.parameters()):
        torch.testing.assert_close(a, b)


class _RunsCode:
    """A pickle payload that would run a shell command when unpickled."""

    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/dnabert_nb_pwned",))


@pytest.mark.parametrize("writer", ["torch.save", "pickle.dump"])
def test_pickle_that_would_run_code_is_refused(checkpoints, tmp_path, writer):
    folder = shutil.copytree(checkpoints(6), tmp_path / "evil")
    state = torch.load(folder / "pytorch_model.bin", weights_only=True)
    state["payload"] = _RunsCode()
    if writer == "torch.save":
        torch.save(state, folder / "pytorch_model.bin")
    else:
        with open(folder / "pytorch_model.bin", "wb") as handle:
            pickle.dump(state, handle, protocol=2)
    if os.path.exists("/tmp/dnabert_nb_pwned"):
        os.remove("/tmp/dnabert_nb_pwned")
    with pytest.raises(CheckpointError, match="Refused"):
        dn.load(folder)
    assert not os.path.exists("/tmp/dnabert_nb_pwned")


def test_inconsistent_checkpoints_fail_clearly(checkpoints, tmp_path):
    folder = shutil.copytree(checkpoints(6), tmp_path / "bad")
    vocab = (folder / "vocab.txt").read_text().split()
    (folder / "vocab.txt").write_text("\n".join(vocab[:-1]))
    with pytest.raises(CheckpointError, match="4100 tokens but config.json says vocab_size 4101"):
        dn.load(folder)
    (folder / "vocab.txt").write_text("\n".join(vocab[:5] + vocab[6:] + vocab[5:6]))
    with pytest.raises(CheckpointError, match="line 6"):
        dn.load(folder)
    (folder / "vocab.txt").write_text("\n".join(vocab))
    fields = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**fields, "num_hidden_layers": 3}))
    with pytest.raises(CheckpointError, match="missing"):
        dn.load(folder)
    (folder / "config.json").write_text(json.dumps({**fields, "hidden_size": 64}))
    with pytest.raises(CheckpointError, match="do not fit"):
        dn.load(folder)
    for field, value in (("classifier_pooling", "max"), ("classifier_layers", [7]), ("classifier_layers", "0")):
        (folder / "config.json").write_text(json.dumps({**fields, field: value}))
        with pytest.raises(CheckpointError, match=re.escape(f"has {field} {value!r}")):
            dn.load(folder)
    (folder / "config.json").write_text(json.dumps({**fields, "vocab_size": 4000}))
    with pytest.raises(CheckpointError, match="69, 261, 1029 or 4101"):
        dn.load(folder)
    (folder / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        dn.load(folder)
    (folder / "config.json").unlink()
    with pytest.raises(CheckpointError, match="no config.json"):
        dn.load(folder)
    empty = tmp_path / "empty"
    shutil.copytree(checkpoints(6), empty)
    (empty / "pytorch_model.bin").unlink()
    with pytest.raises(CheckpointError, match="no weights"):
        dn.load(empty)


def test_missing_folder_and_offline_hub_id(tmp_path, monkeypatch):
    with pytest.raises(ModelNotFoundError, match="No folder"):
        dn.load(tmp_path / "nowhere")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFoundError, match="offline.*dn.load\\('path/to/DNA_bert_6'\\)"):
        dn.load("zhihan1996/DNA_bert_6")


def test_bad_arguments(checkpoints):
    with pytest.raises(InputFormatError, match="num_labels = 3 but 2 labels"):
        dn.load(checkpoints(6), num_labels=3, labels=["a", "b"])
    with pytest.raises(InputFormatError, match="repeats"):
        dn.load(checkpoints(6), labels=["a", "a"])
    with pytest.raises(InputFormatError, match="precision"):
        dn.load(checkpoints(6), precision="int4")


def test_save_round_trips_through_load_and_plain_transformers(checkpoints, tmp_path):
    model = dn.load(checkpoints(6, num_labels=2), labels=["neg", "pos"])
    saved = model.save(tmp_path / "saved")
    assert {"config.json", "model.safetensors", "vocab.txt"} <= {p.name for p in saved.iterdir()}
    again = dn.load(saved)
    assert again.labels == ["neg", "pos"] and again.task == "classification"
    for a, b in zip(model.network.parameters(), again.network.parameters()):
        torch.testing.assert_close(a, b)
    plain = AutoModel.from_pretrained(saved)
    torch.testing.assert_close(plain.embeddings.word_embeddings.weight, model.encoder.embeddings.word_embeddings.weight)
    text_tokens = BertTokenizer.from_pretrained(saved)("ACGTAC CGTACG")["input_ids"]
    assert text_tokens == model.tokenizer.encode(["ACGTACG"])["input_ids"][0].tolist()
    model.save(tmp_path / "saved")  # overwriting an existing folder leaves one complete checkpoint
    assert sorted(p.name for p in tmp_path.iterdir()) == ["saved"]


def test_masked_lm_checkpoint_saves_with_its_head(checkpoints, tmp_path):
    model = dn.load(checkpoints(3))
    again = dn.load(model.save(tmp_path / "mlm"))
    torch.testing.assert_close(
        again.network.cls.predictions.transform.dense.weight, model.network.cls.predictions.transform.dense.weight
    )
    assert np.isfinite(again.network.cls.predictions.bias.detach().numpy()).all()


def test_embedded_model_loads_offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = dn.load()
    assert model.k == 6 and model.task is None and model.config.hidden_size == 256
    assert model.network.cls.predictions.decoder.weight.dtype == torch.float32  # fp16 on disk, fp32 in memory
    from dnabert_nb.core import model as model_module

    monkeypatch.setattr(model_module, "EMBEDDED_MODEL", tmp_path / "missing")
    with pytest.raises(ModelNotFoundError, match="embedded model is missing"):
        dn.load()
