"""The one training loop: callbacks see every step and evaluation, a callback can stop a run and the best model
so far comes back, the old option names still work."""

import numpy as np
import pandas as pd
import pytest
import torch
from test_finetune import FAST, planted

import dnabert_nb as dn
from dnabert_nb import InputFormatError
from dnabert_nb.testing import TINY_SIZES


@pytest.fixture(scope="module")
def data():
    return planted(320, 0), planted(80, 1)


class StopAt(dn.Callback):
    """Records what the loop tells it and asks it to stop after step ``last``."""

    def __init__(self, last):
        self.last, self.steps, self.evaluated, self.started, self.ended = last, [], [], 0, 0

    def on_start(self, state):
        self.started += 1

    def on_step(self, state, row):
        self.steps.append(state.step)
        if state.step == self.last:
            state.request_stop()

    def on_evaluate(self, state, scores):
        self.evaluated.append((state.step, scores.get("mcc")))

    def on_end(self, state):
        self.ended += 1


def test_a_callback_stops_finetuning_and_the_best_model_so_far_comes_back(encoder, data, tmp_path):
    train, valid = data  # 20 steps an epoch
    stopper = StopAt(27)
    model = dn.finetune(encoder, train, valid, **{**FAST, "epochs": 4}, output_dir=tmp_path, callbacks=[stopper])
    assert stopper.steps == list(range(1, 28)) and (stopper.started, stopper.ended) == (1, 1)
    assert [step for step, _ in stopper.evaluated] == [20, 27]  # the epoch end, then the step it stopped at
    best_step, best_mcc = max(stopper.evaluated, key=lambda item: item[1])
    assert model.metrics["mcc"] == best_mcc and model.history["step"].max() == 27
    assert dn.evaluate(model, valid, progress=False)["mcc"] == pytest.approx(best_mcc, abs=1e-6)
    for a, b in zip(dn.load(tmp_path / "best").network.parameters(), model.network.parameters()):
        torch.testing.assert_close(a, b)
    # the stopped run's last/ checkpoint continues to the planned end
    resumed = dn.finetune(encoder, train, valid, **{**FAST, "epochs": 4}, output_dir=tmp_path, resume=True)
    assert resumed.history["step"].max() == 80 and resumed.history["valid_mcc"].notna().sum() == 2 + 3


def test_a_callback_stops_pretraining(tmp_path):
    stopper = StopAt(3)
    corpus = ["".join(np.random.default_rng(i).choice(list("ACGT"), size=2000)) for i in range(2)]
    model = dn.pretrain(
        corpus,
        k=4,
        config={**TINY_SIZES, "num_hidden_layers": 1},
        max_length=40,
        steps=50,
        batch_size=4,
        eval_every=10,
        eval_windows=8,
        log_every=1,
        precision="fp32",
        progress=False,
        callbacks=[stopper],
    )
    assert stopper.steps == [1, 2, 3] and model.history["step"].tolist() == [1, 2, 3]
    assert model.history["valid_accuracy"].notna().sum() == 1  # evaluated where it stopped


def test_callbacks_must_be_callback_instances(encoder, data):
    with pytest.raises(InputFormatError, match="callbacks holds a function"):
        dn.finetune(encoder, *data, **FAST, callbacks=[lambda state: None])


def test_old_option_names_still_work_with_a_deprecation_warning(encoder, data):
    train, valid = data
    with pytest.warns(DeprecationWarning) as warned:
        old = dn.finetune(encoder, train, eval=valid, warmup_ratio=0.2, **{**FAST, "epochs": 1})
    assert sorted(str(w.message) for w in warned if w.category is DeprecationWarning) == [
        "finetune(eval=...) is now finetune(valid=...).",
        "finetune(warmup_ratio=...) is now finetune(warmup=...).",
    ]
    new = dn.finetune(encoder, train, valid, warmup=0.2, **{**FAST, "epochs": 1})
    pd.testing.assert_frame_equal(old.history.drop(columns="samples_per_s"), new.history.drop(columns="samples_per_s"))
    with pytest.raises(TypeError, match="both eval= and valid="):
        dn.finetune(encoder, train, valid=valid, eval=valid, **FAST)
