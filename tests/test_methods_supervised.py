"""The supervised encoder: the slot assignment is optimal, test-time reading follows the slot-type
head, and training reaches high ID accuracy on a small sprites split (predictions and features)."""

import itertools

import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment

from genperc import config
from genperc.data.config import DataConfig
from genperc.data.generate import generate
from genperc.eval import fit_readout, score_predictions
from genperc.methods import (
    MethodError,
    SupervisedConfig,
    SupervisedNet,
    load_supervised,
    min_cost_assignment,
    supervised_split,
    train_supervised,
)
from genperc.methods.supervised import SupervisedOutput
from genperc.models import ModelConfig
from genperc.training.logs import read_jsonl


@pytest.mark.parametrize("k,g", [(2, 2), (3, 2), (4, 3), (6, 3)])
def test_min_cost_assignment_is_optimal_and_injective(k, g):
    cost = torch.rand(50, g, k, generator=torch.Generator().manual_seed(k))
    slots = min_cost_assignment(cost)
    assert slots.shape == (50, g)
    for b in range(50):
        assert len(set(slots[b].tolist())) == g
        rows, cols = linear_sum_assignment(cost[b].numpy())
        assert cost[b, torch.arange(g), slots[b]].sum() == pytest.approx(float(cost[b].numpy()[rows, cols].sum()))


def test_predictions_read_the_slot_the_type_head_names():
    net = SupervisedNet(ModelConfig(res=16, n_slots=3, slot_dim=4), n_values=[3, 2, 4], concept_slots=[0, 0, 1],
                        matching="hungarian")
    B, K = 2, 3
    log_probs = [torch.randn(B, K, n).log_softmax(-1) for n in (3, 2, 4)]
    # image 0: ground-truth slot 0 in inferred slot 2, slot 1 in slot 0; image 1: slot 0 in 1, slot 1 in 2
    types = torch.full((B, K, 3), -10.0)
    for b, (s0, s1, none) in enumerate([(2, 0, 1), (1, 2, 0)]):
        types[b, s0, 0] = types[b, s1, 1] = types[b, none, 2] = 0.0
    pred = net.predict_from(SupervisedOutput(torch.zeros(B, K, 4), log_probs, types.log_softmax(-1)))
    expect = [[log_probs[0][0, 2].argmax(), log_probs[1][0, 2].argmax(), log_probs[2][0, 0].argmax()],
              [log_probs[0][1, 1].argmax(), log_probs[1][1, 1].argmax(), log_probs[2][1, 2].argmax()]]
    assert pred.tolist() == torch.tensor(expect).tolist()


def test_loss_matches_each_image_to_its_best_slots():
    net = SupervisedNet(ModelConfig(res=16, n_slots=2, slot_dim=4), n_values=[2, 2], concept_slots=[0, 1],
                        matching="fixed")
    sure = torch.tensor([[0.0, -30.0], [-30.0, 0.0]])  # slot 0 says class 0, slot 1 says class 1
    log_probs = [sure[None].expand(1, 2, 2), sure[None].expand(1, 2, 2)]
    out = SupervisedOutput(torch.zeros(1, 2, 4), log_probs, None)
    # fixed: concept 0 from slot 0, concept 1 from slot 1 -> labels (0, 1) cost ~0, labels (1, 0) cost 60
    assert net.loss(out, torch.tensor([[0, 1]])) == pytest.approx(0.0, abs=1e-6)
    assert net.loss(out, torch.tensor([[1, 0]])) == pytest.approx(60.0, rel=1e-4)
    hung = SupervisedNet(ModelConfig(res=16, n_slots=2, slot_dim=4), [2, 2], [0, 1], "hungarian")
    types = torch.zeros(1, 2, 3).log_softmax(-1)
    swapped = hung.loss(SupervisedOutput(out.feats, log_probs, types), torch.tensor([[1, 0]]))
    assert swapped == pytest.approx(np.log(3), rel=1e-4)  # matched to the swapped slots (0), plus slot types


def test_too_few_slots_is_an_error():
    with pytest.raises(MethodError, match="raise model.n_slots"):
        SupervisedNet(ModelConfig(res=16, n_slots=1, slot_dim=4), [2, 2], [0, 1], "hungarian")


@pytest.fixture(scope="module")
def shapes_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("sup") / "shapes"
    generate(DataConfig(renderer="sprites", split="background", res=16, n_train=400, n_val=32, n_test=128,
                        categories=["triangle", "square"], backgrounds=["plain", "stripes", "checker"],
                        shard_size=500), root, progress=False)
    return root


@pytest.fixture(scope="module")
def trained(shapes_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("suprun") / "run"
    cfg = config.load(SupervisedConfig, overrides=[
        f"data={shapes_data}", f"out={out}", "steps=500", "batch_size=32", "lr=2e-3", "lr_warmup_steps=20",
        "val_every=250", "progress=false", "model.res=16", "model.slot_dim=8", "model.encoder.channels=32",
        "model.slot_encoder.hidden=32", "model.slot_encoder.mlp_hidden=32", "model.slot_encoder.iters=2"])
    return train_supervised(cfg), out


def test_supervised_training_reaches_high_id_accuracy(trained, shapes_data):
    result, out = trained
    assert min(result.val_accuracy.values()) > 0.85
    lat = supervised_split(out, shapes_data, "test_id")
    assert lat.method == "supervised" and lat.pred.shape == lat.labels.shape
    scores = score_predictions(lat.pred, lat.labels, ["object.category", "background.category"])
    assert min(scores.accuracy.values()) > 0.9, scores
    # its slot features are readable by the common slot-wise readout too
    train = supervised_split(out, shapes_data, "train")
    readout = fit_readout(train.mu, train.labels, ["object.category", "background.category"], [0, 1])
    assert min(readout.score(lat.mu, lat.labels).accuracy.values()) > 0.9
    rows = read_jsonl(out / "val_metrics.jsonl")
    assert [r["step"] for r in rows] == [250, 500]
    assert (out / "config.yaml").is_file() and (out / "summary.json").is_file()
    assert load_supervised(out).step == 500


def test_existing_run_dir_is_refused(trained, shapes_data):
    _, out = trained
    with pytest.raises(MethodError, match="already holds files"):
        train_supervised(SupervisedConfig(data=str(shapes_data), out=str(out), model=ModelConfig(res=16)))


def test_fixed_matching_trains_and_predicts(shapes_data, tmp_path):
    cfg = config.load(SupervisedConfig, preset=("methods/supervised", "tiny"), overrides=[
        f"data={shapes_data}", f"out={tmp_path / 'r'}", "model.res=16", "matching=fixed"])
    train_supervised(cfg)
    lat = supervised_split(tmp_path / "r", shapes_data, "val")
    assert lat.pred.shape == (32, 2) and lat.mu.shape == (32, 2, 8)
    assert set(itertools.chain(*lat.pred.tolist())) <= {0, 1, 2}
