"""The latents container (save / load / no silent overwrite) and encoding a split directly."""

import numpy as np
import pytest
import torch

from genperc.data.dataset import SlotDataset
from genperc.methods import Cost, Latents, MethodError, encode, encode_split
from genperc.models import EncoderConfig, ModelConfig, SlotEncoderConfig, build_model
from genperc.training import checkpoint as ckpt


def make_latents(with_extras: bool) -> Latents:
    rng = np.random.default_rng(0)
    extras = {"pred": rng.integers(3, size=(5, 2)), "loss": rng.random(5)} if with_extras else {}
    steps = rng.integers(100, size=5) if with_extras else None
    return Latents(method="search", split="test_ood", mu=rng.normal(size=(5, 2, 3)),
                   labels=rng.integers(3, size=(5, 2)), factors=rng.random((5, 4)), index=np.arange(5),
                   cost=Cost(1.5, 0.3, steps), meta={"run": "r", "config": {"lr": 0.05, "restarts": [1, 2]}}, **extras)


@pytest.mark.parametrize("with_extras", [False, True])
def test_save_load_round_trip(tmp_path, with_extras):
    lat = make_latents(with_extras)
    path = lat.save(tmp_path / "sub" / "lat.pt")
    back = Latents.load(path)
    assert (back.method, back.split, back.meta) == (lat.method, lat.split, lat.meta)
    for name in ("mu", "labels", "factors", "index", "pred", "loss"):
        a, b = getattr(lat, name), getattr(back, name)
        assert (a is None and b is None) or (np.array_equal(a, b) and a.dtype == b.dtype), name
    assert back.mu.dtype == np.float32 and back.labels.dtype == np.int64
    assert back.cost.wall_s == 1.5 and back.cost.per_image_s == 0.3
    assert back.cost.mean_steps == (None if not with_extras else pytest.approx(lat.cost.steps.mean()))


def test_existing_file_is_never_replaced_silently(tmp_path):
    path = make_latents(False).save(tmp_path / "lat.pt")
    other = make_latents(True)
    with pytest.raises(MethodError, match="already exists"):
        other.save(path)
    assert Latents.load(path).pred is None
    other.save(path, overwrite=True)
    assert Latents.load(path).pred is not None


def test_foreign_files_and_bad_shapes_are_rejected(tmp_path):
    ckpt.save(tmp_path / "model.pt", {"model": {}})
    with pytest.raises(MethodError, match="no genperc latents"):
        Latents.load(tmp_path / "model.pt")
    with pytest.raises(ValueError, match="labels has 4 rows"):
        Latents(method="encoder", split="val", mu=np.zeros((5, 2, 3)), labels=np.zeros((4, 2)),
                factors=np.zeros((5, 1)), index=np.arange(5), cost=Cost(0.0, 0.0))


def test_encode_split_with_a_module(sprite_dataset):
    torch.manual_seed(0)
    model = build_model(ModelConfig(res=16, n_slots=2, slot_dim=4, encoder=EncoderConfig(channels=8, depth=2),
                                    slot_encoder=SlotEncoderConfig(hidden=16, mlp_hidden=16, iters=2)))
    lat = encode_split(model, sprite_dataset, "test_ood", batch_size=7, method="mine")
    data = SlotDataset(sprite_dataset, "test_ood")
    batch = data.batch(np.arange(len(data)))
    with torch.no_grad():
        expected = model.eval().encode(batch.images).mu
    assert lat.method == "mine" and lat.split == "test_ood" and lat.mu.shape == (32, 2, 4)
    assert np.allclose(lat.mu, expected.numpy(), atol=1e-5)
    assert np.array_equal(lat.labels, batch.labels.numpy()) and np.array_equal(lat.factors, batch.latents.numpy())
    assert np.array_equal(lat.index, np.arange(32)) and lat.cost.per_image_s > 0
    assert torch.allclose(encode(model, batch.images, batch_size=3), expected, atol=1e-5)
    with pytest.raises(MethodError, match="unknown split"):
        encode_split(model, sprite_dataset, "ood")
