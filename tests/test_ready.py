"""Ready task models: int8 storage, dn.models(), dn.load(name), and the shipped models' cards against their tests."""

import json
import time
import warnings

import numpy as np
import pytest
import torch

import dnabert_nb as dn
from dnabert_nb.core import int8_weights, ready


def test_int8_storage_keeps_every_weight_within_half_a_step_of_its_row():
    generator = torch.Generator().manual_seed(0)
    state = {
        "big": torch.randn(300, 256, generator=generator) * torch.linspace(0.01, 3, 300)[:, None],
        "small": torch.randn(4, 8, generator=generator),
        "bias": torch.randn(256, generator=generator),
        "ids": torch.arange(5),
    }
    stored = int8_weights.quantize_int8(state)
    assert stored["big"].dtype == torch.int8 and stored["big" + int8_weights.INT8_SCALE].shape == (300,)
    back = int8_weights.dequantize_int8(stored, "file")
    assert set(back) == set(state)
    step = state["big"].abs().amax(dim=1, keepdim=True) / 127
    assert ((back["big"] - state["big"]).abs() <= step / 2 + 1e-7).all()
    for key in ("small", "bias", "ids"):  # small tensors and integers are kept exactly
        torch.testing.assert_close(back[key], state[key], rtol=0, atol=0)
    del stored["big" + int8_weights.INT8_SCALE]
    with pytest.raises(dn.CheckpointError, match="without one scale a row"):
        int8_weights.dequantize_int8(stored, "file")


@pytest.fixture
def shelf(tmp_path, monkeypatch):
    """An empty place for ready models, and int8 storage for the tiny test models' matrices too."""
    monkeypatch.setattr(ready, "READY_MODELS", tmp_path / "ready")
    monkeypatch.setattr(int8_weights, "INT8_MIN_SIZE", 512)
    return tmp_path / "ready"


def test_a_written_ready_model_is_listed_loaded_by_name_and_predicts_as_the_original(checkpoints, shelf, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dn.UntrainedHeadWarning)
        original = dn.load(checkpoints(6), labels=["shuffled", "CTCF peak"])
    card = {"name": "tiny-ctcf", "dataset": "ctcf_peaks", "classes": original.labels, "kind": "fine-tuned network"}
    card |= {"train_rows": 800, "test_rows": 100, "test_mcc": 0.7, "baseline_test_mcc": 0.6, "about": "a test"}
    folder = ready.write_ready(original, "tiny-ctcf", card)
    assert (folder / "model.int8.safetensors").is_file() and not (folder / "model.safetensors").exists()
    table = dn.models()
    assert list(table.columns) == list(ready.MODEL_COLUMNS) and table.to_dict("records") == [card]
    assert dn.model_card("tiny-ctcf") == card
    loaded = dn.load("tiny-ctcf")
    assert loaded.labels == ["shuffled", "CTCF peak"] and loaded.source == "tiny-ctcf"
    sequences = ["ACGT" * 20, "TTGACA" * 12, "GGGCCCATAT" * 9]
    expected = dn.predict(original, sequences, progress=False)
    got = dn.predict(loaded, sequences, progress=False)
    np.testing.assert_allclose(got["prob_CTCF peak"], expected["prob_CTCF peak"], atol=0.02)
    assert loaded.network.bert.encoder.layer[0].intermediate.dense.weight.dtype == torch.float32
    with pytest.raises(dn.ModelNotFoundError, match="tiny-ctcf"):  # the message lists the ready models
        dn.load("tiny-ctfc")
    with pytest.raises(dn.DNABERTError, match="No ready model is called 'nope'"):
        dn.model_card("nope")


def test_a_folder_of_the_same_name_wins_over_a_ready_model(checkpoints, shelf, tmp_path, monkeypatch):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dn.UntrainedHeadWarning)
        ready.write_ready(dn.load(checkpoints(6), num_labels=2), "mine", {"name": "mine"})
    local = dn.load(checkpoints(4))
    local.save(tmp_path / "mine")
    monkeypatch.chdir(tmp_path)
    assert dn.load("mine").k == 4  # the user's folder, not the ready model (k = 6)


READY = dn.models()


def test_the_package_ships_at_least_five_ready_models_that_beat_k_mer_counts_on_their_test_split():
    assert len(READY) >= 5
    assert (READY["test_mcc"] > READY["baseline_test_mcc"]).all(), READY[["name", "test_mcc", "baseline_test_mcc"]]
    assert set(READY["dataset"]) >= {"splice", "fly_core_promoters", "ctcf_peaks", "oct4_peaks", "mafk_peaks"}
    size = sum(path.stat().st_size for path in ready.READY_MODELS.rglob("*") if path.is_file())
    assert size < 30e6  # the package grows by 30 MB at most


@pytest.mark.parametrize("name", READY["name"])
def test_a_ready_model_loads_offline_quickly_with_the_classes_of_its_card(name, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    model = dn.load(name)
    card = dn.model_card(name)
    print(f"{name}: loaded in {time.perf_counter() - started:.2f} s")
    assert model.labels == card["classes"] and model.task == "classification"
    data = dn.datasets.load(card["dataset"])
    assert set(data["label"].astype(str)) == set(card["dataset_labels"])  # the card maps the data's labels


@pytest.mark.parametrize("name", ["mini6-splice", "mini6-ctcf"])  # the small test splits: the others take minutes
def test_a_ready_model_scores_on_its_test_split_what_its_card_states(name):
    card = dn.model_card(name)
    data = dn.datasets.load(card["dataset"])
    test = data[data.split == "test"]
    test = ready.named_classes(test, card)
    scores = dn.evaluate(dn.load(name), test, precision="fp32", progress=False)  # as the card was measured
    assert len(test) == card["test_rows"]
    assert scores["mcc"] == pytest.approx(card["test_mcc"], abs=1e-4)
    print(json.dumps({name: float(scores["mcc"])}))
