"""Default fine-tuning of the embedded model on small real data, for three seeds: never a constant predictor.

A module of its own: its three runs are the longest tests, and pytest-xdist's loadscope gives a module to one worker,
so apart from the other fine-tuning tests they balance the workers' load.
"""

import pytest

import dnabert_nb as dn


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_default_finetuning_of_the_embedded_model_on_small_real_data_is_never_a_constant_predictor(seed):
    table = dn.datasets.load("ecoli_promoters")  # 84 training sequences: the small-data case of issue 16
    train, valid, test = (table[table["split"] == split] for split in ("train", "valid", "test"))
    model = dn.finetune(dn.load(), train, valid, seed=seed, progress=False, live_plot=False)
    predictions = dn.predict(model, test, progress=False)
    assert predictions["label"].nunique() == 2, predictions["label"].value_counts()
    assert dn.evaluate(model, test, progress=False)["mcc"] > 0
