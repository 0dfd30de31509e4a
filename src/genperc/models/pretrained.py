"""The ``hf`` base encoder: a pretrained vision backbone (DINOv2, DINOv3, CLIP, SigLIP/SigLIP2, ViT,
I-JEPA, ...) loaded from a local directory in Hugging Face ``transformers`` format, frozen, fully
fine-tuned, or adapted with LoRA (``peft``).

genperc never downloads weights: ``hf_path`` must be a directory written by ``save_pretrained``
(or a downloaded model snapshot). ``transformers`` and ``peft`` are optional dependencies
(``pip install 'genperc[pretrained]'``) and are imported only when this encoder is built.

The adapter resizes images to the backbone's input size, normalises them with the mean/std of the
directory's ``preprocessor_config.json`` (else the family's usual values), and returns the patch
tokens only: CLS and register tokens, which come first in these models, are dropped.
"""

from __future__ import annotations

import importlib
import inspect
import json
import math
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import EncoderConfig
from .registries import ENCODERS

INSTALL_HINT = "pip install 'genperc[pretrained]'"
NO_DOWNLOAD = ("genperc never downloads weights: download or save_pretrained the model yourself and set "
               "encoder.hf_path to its local directory")

IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
HALF = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
# Pixel statistics by model family (model_type up to the first "_", e.g. "clip_vision_model"), used
# when the directory has no preprocessor config; other families get ImageNet statistics.
FAMILY_NORM = {
    "clip": ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)),
    "siglip": HALF,
    "siglip2": HALF,
    "vit": HALF,
}


def require(module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(f"the 'hf' encoder needs the optional dependency {module!r}: {INSTALL_HINT}") from e


def load_backbone(path: str) -> tuple[nn.Module, Any]:
    """The vision model at ``path`` (the vision tower of a CLIP/SigLIP checkpoint), in fp32, and its config."""
    root = Path(path)
    if not (root / "config.json").is_file():
        what = "does not exist" if not root.exists() else "has no config.json"
        raise FileNotFoundError(f"Hugging Face model directory {path!r} {what}; {NO_DOWNLOAD}")
    transformers = require("transformers")
    try:
        model = transformers.AutoModel.from_pretrained(str(root), local_files_only=True)
    except (OSError, ValueError, KeyError) as e:
        raise ValueError(f"could not load a Hugging Face model from {path!r}: {e}; {NO_DOWNLOAD}") from e
    model.float()  # bf16/fp16 checkpoints are 15× slower on CPUs without bf16 units
    if hasattr(model.config, "vision_config"):  # image-text checkpoint: keep the vision tower only
        return model.vision_model, model.config.vision_config
    return model, model.config


def read_preprocessor(root: Path) -> dict[str, Any]:
    file = root / "preprocessor_config.json"
    return json.loads(file.read_text()) if file.is_file() else {}


def input_size(pre: dict[str, Any], vcfg: Any, patch: int) -> int:
    """Square input size the backbone was trained at: the preprocessor's crop or resize size,
    else the model config's (SigLIP2 has none: sqrt(max patches) × patch)."""
    keys = (["crop_size"] if pre.get("do_center_crop", True) else []) + ["size"]
    for key in keys:
        size = pre.get(key)
        if isinstance(size, int):
            return size
        if isinstance(size, dict):
            for k in ("height", "shortest_edge"):
                if k in size:
                    return int(size[k])
    if hasattr(vcfg, "num_patches") and not hasattr(vcfg, "image_size"):
        return math.isqrt(vcfg.num_patches) * patch
    size = vcfg.image_size
    return int(size[0] if isinstance(size, (list, tuple)) else size)


def pixel_norm(pre: dict[str, Any], model_type: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    if pre.get("do_normalize") is False:
        return (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
    if "image_mean" in pre and "image_std" in pre:
        return tuple(pre["image_mean"]), tuple(pre["image_std"])
    return FAMILY_NORM.get(model_type.split("_")[0], IMAGENET)  # ImageNet: DINO family, I-JEPA, ...


class HFEncoder(nn.Module):
    """images (B,3,H,W) in [0,1] -> patch tokens (B, (size/patch)², hidden_size)."""

    def __init__(self, path: str, freeze: bool, image_size: int, lora_rank: int, lora_alpha: int,
                 lora_targets: tuple[str, ...]) -> None:
        super().__init__()
        backbone, vcfg = load_backbone(path)
        patch = vcfg.patch_size
        patch = int(patch[0] if isinstance(patch, (list, tuple)) else patch)
        pre = read_preprocessor(Path(path))
        self.size = image_size or input_size(pre, vcfg, patch)
        if self.size % patch:
            raise ValueError(f"hf_image_size {self.size} is not a multiple of the backbone's patch size {patch}")
        self.patch, self.grid = patch, self.size // patch
        self.siglip2 = "siglip2" in vcfg.model_type  # takes pre-patchified pixels and a patch mask
        params = inspect.signature(backbone.forward).parameters
        self.mask_arg = "pixel_attention_mask" if "pixel_attention_mask" in params else "attention_mask"
        mean, std = pixel_norm(pre, vcfg.model_type)
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        native = getattr(vcfg, "image_size", self.size)
        self.extra: dict[str, Any] = {}
        if native != self.size and "interpolate_pos_encoding" in params:
            self.extra["interpolate_pos_encoding"] = True
        self.frozen_base = freeze
        if freeze:
            backbone.requires_grad_(False)
            backbone.eval()
        if lora_rank:
            add_lora(backbone, lora_rank, lora_alpha, lora_targets, path)
        self.backbone = backbone
        self.trainable = any(p.requires_grad for p in backbone.parameters())
        self.out_dim = int(vcfg.hidden_size)

    def train(self, mode: bool = True) -> HFEncoder:
        super().train(mode)
        if self.frozen_base:
            self.backbone.eval()  # frozen statistics and no dropout, also under LoRA
        return self

    def forward(self, images: Tensor) -> Tensor:
        x = images
        if x.shape[-2:] != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False,
                              antialias=x.shape[-1] > self.size)
        x = (x - self.mean) / self.std  # (B, 3, S, S)
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.trainable):
            out = self.backbone(**self.inputs(x), **self.extra).last_hidden_state  # (B, T, C)
        if out.ndim != 3 or out.shape[1] < self.grid**2:
            raise ValueError(f"backbone returned {tuple(out.shape)}, expected (B, >= {self.grid**2} tokens, C)")
        return out[:, -self.grid**2 :]  # (B, N, C): patch tokens follow CLS / register tokens

    def inputs(self, x: Tensor) -> dict[str, Tensor]:
        if not self.siglip2:
            return {"pixel_values": x}
        B, g, p = x.shape[0], self.grid, self.patch
        patches = x.view(B, 3, g, p, g, p).permute(0, 2, 4, 3, 5, 1).reshape(B, g * g, p * p * 3)
        return {
            "pixel_values": patches,  # (B, N, p*p*3), row-major patches, channels last
            self.mask_arg: torch.ones(B, g * g, dtype=torch.long, device=x.device),
            "spatial_shapes": torch.tensor([[g, g]] * B, dtype=torch.long, device=x.device),
        }


def add_lora(backbone: nn.Module, rank: int, alpha: int, targets: tuple[str, ...], path: str) -> None:
    """Inject LoRA adapters into the Linear layers named ``targets``; only they stay trainable."""
    peft = require("peft")
    config = peft.LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=0.0, target_modules=list(targets))
    try:
        peft.inject_adapter_in_model(config, backbone)
    except ValueError as e:
        raise ValueError(f"LoRA: none of encoder.lora_targets {list(targets)} names a layer of {path!r}: {e}") from e
    for name, param in backbone.named_parameters():
        param.requires_grad_("lora_" in name)


@ENCODERS.register("hf")
def build_hf(cfg: EncoderConfig, res: int) -> HFEncoder:
    return HFEncoder(cfg.hf_path, cfg.hf_freeze, cfg.hf_image_size, cfg.lora_rank, cfg.lora_alpha, cfg.lora_targets)
