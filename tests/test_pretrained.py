"""The ``hf`` base encoder on tiny randomly initialised Hugging Face models saved to disk."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

transformers = pytest.importorskip("transformers")
pytest.importorskip("peft")

from genperc.models import (  # noqa: E402
    ENCODERS,
    DecoderConfig,
    EncoderConfig,
    ModelConfig,
    SlotEncoderConfig,
    build_model,
)
from genperc.models.pretrained import HFEncoder  # noqa: E402

TINY = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)


def save(model: torch.nn.Module, path: Path, preprocessor: dict | None = None) -> str:
    model.save_pretrained(path)
    if preprocessor is not None:
        (path / "preprocessor_config.json").write_text(json.dumps(preprocessor))
    return str(path)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("hf")
    return {
        # ViT: CLS + patches, preprocessor with its own mean/std and size
        "vit": save(transformers.ViTModel(transformers.ViTConfig(image_size=32, patch_size=8, **TINY)), root / "vit",
                    {"image_mean": [0.1, 0.2, 0.3], "image_std": [0.5, 0.6, 0.7], "size": {"height": 24, "width": 24}}),
        # DINOv2 with registers: CLS + 2 registers + patches, no preprocessor (ImageNet statistics)
        "dinov2": save(transformers.Dinov2WithRegistersModel(transformers.Dinov2WithRegistersConfig(
            image_size=28, patch_size=7, num_register_tokens=2, **TINY)), root / "dinov2"),
        # a full CLIP checkpoint (text + vision): only the vision tower is used
        "clip": save(transformers.CLIPModel(transformers.CLIPConfig(
            text_config=dict(vocab_size=99, max_position_embeddings=16, **TINY),
            vision_config=dict(image_size=32, patch_size=8, **TINY))), root / "clip"),
        # SigLIP2 vision tower: takes pre-patchified pixels, no CLS token
        "siglip2": save(transformers.Siglip2VisionModel(transformers.Siglip2VisionConfig(
            patch_size=8, num_patches=16, **TINY)), root / "siglip2"),
    }


def encoder(path: str, **kw: object) -> HFEncoder:
    return ENCODERS.create("hf", cfg=EncoderConfig(name="hf", hf_path=path, **kw), res=16)  # type: ignore[arg-type]


def images(n: int = 2, res: int = 16) -> torch.Tensor:
    return torch.rand(n, 3, res, res, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("name,size,tokens", [("vit", 24, 9), ("dinov2", 28, 16), ("clip", 32, 16),
                                              ("siglip2", 32, 16)])
def test_tokens_shape(models: dict[str, str], name: str, size: int, tokens: int) -> None:
    enc = encoder(models[name])
    assert enc.size == size and enc.out_dim == 32
    assert enc(images()).shape == (2, tokens, 32)


def test_matches_backbone_with_normalisation_and_cls_dropped(models: dict[str, str]) -> None:
    enc = encoder(models["vit"])
    x = images()
    ref_model = transformers.AutoModel.from_pretrained(models["vit"], local_files_only=True).eval()
    pixels = F.interpolate(x, size=(24, 24), mode="bilinear", align_corners=False)
    pixels = (pixels - torch.tensor([0.1, 0.2, 0.3]).view(1, 3, 1, 1)) / torch.tensor([0.5, 0.6, 0.7]).view(1, 3, 1, 1)
    ref = ref_model(pixel_values=pixels, interpolate_pos_encoding=True).last_hidden_state[:, 1:]
    torch.testing.assert_close(enc(x), ref)


def test_registers_dropped_and_imagenet_default(models: dict[str, str]) -> None:
    enc = encoder(models["dinov2"])
    torch.testing.assert_close(enc.mean.flatten(), torch.tensor([0.485, 0.456, 0.406]))
    x = images()
    ref_model = transformers.AutoModel.from_pretrained(models["dinov2"], local_files_only=True).eval()
    pixels = (F.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False) - enc.mean) / enc.std
    ref = ref_model(pixel_values=pixels).last_hidden_state
    assert ref.shape[1] == 1 + 2 + 16
    torch.testing.assert_close(enc(x), ref[:, 3:])


def test_clip_uses_vision_tower_and_its_norm(models: dict[str, str]) -> None:
    enc = encoder(models["clip"])
    assert "text" not in " ".join(n for n, _ in enc.named_modules())
    torch.testing.assert_close(enc.mean.flatten(), torch.tensor([0.48145466, 0.4578275, 0.40821073]))


def test_siglip2_patch_layout(models: dict[str, str]) -> None:
    # SigLIP2 takes (B, patches, p*p*C): patches row-major, and inside a patch (row, col, channel)
    enc = encoder(models["siglip2"])
    p, g = enc.patch, enc.grid
    x = torch.zeros(1, 3, enc.size, enc.size)
    c, row, col = 2, 13, 22
    x[0, c, row, col] = 1.0
    inputs = enc.inputs(x)
    hot = inputs["pixel_values"][0].nonzero().tolist()
    assert hot == [[(row // p) * g + col // p, ((row % p) * p + col % p) * 3 + c]]
    assert inputs["spatial_shapes"].tolist() == [[g, g]]


def test_image_size_override(models: dict[str, str]) -> None:
    enc = encoder(models["dinov2"], hf_image_size=14)
    assert enc(images()).shape == (2, 4, 32)
    with pytest.raises(ValueError, match="not a multiple of the backbone's patch size 7"):
        encoder(models["dinov2"], hf_image_size=16)


def test_frozen_has_no_backbone_grads(models: dict[str, str]) -> None:
    enc = encoder(models["dinov2"]).train()
    assert not enc.backbone.training  # dropout stays off
    assert not any(p.requires_grad for p in enc.parameters())
    out = enc(images())
    assert not out.requires_grad


def test_full_finetune_trains_backbone(models: dict[str, str]) -> None:
    enc = encoder(models["vit"], hf_freeze=False)
    assert all(p.requires_grad for p in enc.parameters())
    out = enc(images())
    (out * torch.randn(out.shape)).sum().backward()
    assert all(p.grad is not None for n, p in enc.named_parameters() if "pooler" not in n)


@pytest.mark.parametrize("name", ["vit", "clip"])
def test_lora_trains_only_adapters_and_changes_output(models: dict[str, str], name: str) -> None:
    enc = encoder(models[name], lora_rank=4)
    trainable = [n for n, p in enc.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    frozen_before = {n: p.detach().clone() for n, p in enc.named_parameters() if not p.requires_grad}
    x = images()
    before = enc(x).detach()
    opt = torch.optim.SGD([p for p in enc.parameters() if p.requires_grad], lr=0.1)
    (enc(x) * torch.randn(before.shape)).sum().backward()  # LayerNorm output: not a square loss
    opt.step()
    assert not torch.allclose(enc(x), before)
    assert all(torch.equal(p, frozen_before[n]) for n, p in enc.named_parameters() if not p.requires_grad)


def test_lora_unknown_targets(models: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="none of encoder.lora_targets"):
        encoder(models["vit"], lora_rank=2, lora_targets=("nothing_here",))


def test_missing_or_invalid_directory(tmp_path: Path) -> None:
    missing = tmp_path / "no_model"
    with pytest.raises(FileNotFoundError, match=f"{missing}.*does not exist.*never downloads"):
        encoder(str(missing))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="has no config.json.*never downloads"):
        encoder(str(tmp_path / "empty"))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text(json.dumps({"model_type": "vit"}))  # config but no weights
    with pytest.raises(ValueError, match="could not load.*never downloads"):
        encoder(str(broken))


def test_missing_optional_dependency(models: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "peft", None)  # makes `import peft` fail
    with pytest.raises(ImportError, match=r"pip install 'genperc\[pretrained\]'"):
        encoder(models["vit"], lora_rank=2)


@pytest.mark.parametrize("slot_encoder", ["slot_attention", "transformer"])
def test_full_model_with_lora_backbone(models: dict[str, str], slot_encoder: str) -> None:
    torch.manual_seed(0)
    cfg = ModelConfig(res=16, n_slots=2, slot_dim=8,
                      encoder=EncoderConfig(name="hf", hf_path=models["siglip2"], lora_rank=2),
                      slot_encoder=SlotEncoderConfig(name=slot_encoder, hidden=16, mlp_hidden=16, layers=1),
                      decoder=DecoderConfig(name="xattn", hidden=16, heads=2, depth=1, patch=4))
    model = build_model(cfg)
    x = images()
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    losses = []
    for _ in range(6):
        out = model(x, sample=False)
        terms = model.loss(x, out, beta=0.01, alpha=0.01)
        opt.zero_grad()
        terms.total.backward()
        opt.step()
        losses.append(terms.total.item())
    assert out.posterior.attn is not None and out.posterior.attn.shape == (2, 2, 16)
    assert losses[-1] < losses[0]
