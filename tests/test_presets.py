"""Every shipped preset resolves, and the model it describes builds and takes a training step.

The presets are what users run first; a key renamed in a dataclass, or a model size that does not
fit a preset's resolution, must fail here rather than minutes into a reproduction.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from genperc import config
from genperc.data.splits import build_split
from genperc.experiment.config import ReproduceConfig
from genperc.experiment.reproduce import resolve
from genperc.methods import ReplayConfig, SearchConfig, SupervisedConfig
from genperc.models import build_model
from genperc.training import TrainConfig

N_SLOTS = {"background": 2, "texture": 2, "object": 3}  # objects + background


def _one_step(model_cfg) -> float:
    torch.manual_seed(0)
    model = build_model(model_cfg)
    images = torch.rand(2, 3, model_cfg.res, model_cfg.res)
    out = model(images)
    terms = model.loss(images, out, beta=0.05, alpha=0.1)
    terms.total.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    return terms.total.item()


@pytest.mark.parametrize("name", config.preset_names("reproduce"))
@pytest.mark.parametrize("split", list(N_SLOTS))
def test_reproduce_preset_resolves_and_its_vae_trains(name, split):
    cfg = resolve(name, None, [], split)
    assert cfg.data.split == split
    spec = build_split(cfg.data)  # the value names the preset picks exist in its renderer
    assert len(spec.space.slots) == N_SLOTS[split]
    model_cfg = replace(cfg.train.model, res=cfg.data.res, n_slots=N_SLOTS[split])
    assert torch.isfinite(torch.tensor(_one_step(model_cfg)))


@pytest.mark.parametrize("name", config.preset_names("train"))
def test_train_preset_resolves_and_trains(name):
    cfg = config.load(TrainConfig, preset=("train", name))
    assert torch.isfinite(torch.tensor(_one_step(cfg.model)))


@pytest.mark.parametrize("group,schema", [("methods/search", SearchConfig), ("methods/replay", ReplayConfig),
                                          ("methods/supervised", SupervisedConfig)])
def test_method_presets_resolve(group, schema):
    names = config.preset_names(group)
    assert names, f"no presets in {group}"
    for name in names:
        assert isinstance(config.load(schema, preset=(group, name)), schema)


def test_quick_sprites_differs_from_quick_only_in_its_data():
    quick, sprites = (config.to_dict(config.load(ReproduceConfig, preset=("reproduce", n))) for n in ("quick", "quick-sprites"))
    for cfg in (quick, sprites):
        del cfg["data"], cfg["split_overrides"]
    assert sprites == quick


def test_preset_with_an_unknown_key_is_rejected(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  max_stepz: 10\n")
    with pytest.raises(config.ConfigError, match="max_stepz"):
        resolve(None, bad, [], "background")
