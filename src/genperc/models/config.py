"""Typed configs of the slot autoencoder.

Each group config holds the options of every component of that group; a field's comment says
which names read it, and the others ignore it. ``ModelConfig()`` is the default CPU model for
32×32 images (CNN encoder, Slot Attention, additive per-slot MLP decoder).
``reference_config()`` is shaped like the ICLR'24 Slot Attention autoencoder.

Invalid values raise ``ValueError`` on construction (``genperc.config.from_dict`` reports them as
``ConfigError``), so a bad config fails before any model is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .registries import DECODERS, ENCODERS, SLOT_ENCODERS


def _positive(obj: object, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if value < 1:
            raise ValueError(f"{type(obj).__name__}.{name} must be >= 1, got {value}")


def _power_of_two(n: int) -> bool:
    return n >= 1 and n & (n - 1) == 0


@dataclass
class EncoderConfig:
    """Base encoder: images (B,3,H,W) -> feature tokens (B,N,C)."""

    name: str = "cnn"  # one of ENCODERS.names(): cnn, vit, hf
    channels: int = 32  # cnn: conv channels
    depth: int = 3  # cnn: conv layers; vit: transformer blocks
    kernel: int = 3  # cnn: conv kernel size (odd)
    downsample: int = 1  # cnn: total stride, a power of 2 (the first log2 convs have stride 2)
    patch: int = 4  # vit: patch size (must divide res)
    width: int = 64  # vit: token width (ViT-S: 384)
    heads: int = 4  # vit: attention heads (ViT-S: 6)
    hf_path: str = ""  # hf: local directory of a Hugging Face model (never downloaded)
    hf_freeze: bool = True  # hf with lora_rank 0: True = frozen backbone, False = full fine-tuning
    hf_image_size: int = 0  # hf: size images are resized to; 0 = the backbone's own
    lora_rank: int = 0  # hf: LoRA rank; 0 = no LoRA (needs hf_freeze, the base weights stay frozen)
    lora_alpha: int = 16  # hf: LoRA scale numerator (update scaled by lora_alpha / lora_rank)
    lora_targets: tuple[str, ...] = ("query", "value", "q_proj", "v_proj")  # hf: LoRA-wrapped Linear names

    def __post_init__(self) -> None:
        _positive(self, "channels", "depth", "kernel", "downsample", "patch", "width", "heads", "lora_alpha")
        if self.kernel % 2 == 0:
            raise ValueError(f"EncoderConfig.kernel must be odd, got {self.kernel}")
        if not _power_of_two(self.downsample):
            raise ValueError(f"EncoderConfig.downsample must be a power of 2, got {self.downsample}")
        if self.hf_image_size < 0 or self.lora_rank < 0:
            raise ValueError("EncoderConfig.hf_image_size and lora_rank must be >= 0")
        if self.lora_rank and not self.hf_freeze:
            raise ValueError("EncoderConfig: LoRA (lora_rank > 0) trains adapters on a frozen base; "
                             "set hf_freeze=true, or lora_rank=0 for full fine-tuning")


@dataclass
class SlotEncoderConfig:
    """Slot encoder: tokens (B,N,C) -> Gaussian posterior over K slots of dim D."""

    name: str = "slot_attention"  # one of SLOT_ENCODERS.names(): slot_attention, transformer
    hidden: int = 64  # both: slot width inside the encoder (projected to 2*slot_dim at the end)
    mlp_hidden: int = 128  # both: hidden width of the slot MLPs
    iters: int = 3  # slot_attention: attention iterations
    # slot_attention: run all iterations but the last without gradient and detach the slots before
    # the last one (implicit differentiation); the learned initial slots get a straight-through
    # gradient so they still train.
    detach_last: bool = False
    heads: int = 4  # transformer: attention heads
    layers: int = 2  # transformer: layers (self-attention among slots, cross-attention, MLP)

    def __post_init__(self) -> None:
        _positive(self, "hidden", "mlp_hidden", "iters", "heads", "layers")


@dataclass
class DecoderConfig:
    """Decoder: slots (B,K,D) -> image (B,3,H,W) (+ masks / attention weights)."""

    name: str = "additive"  # one of DECODERS.names(): xattn, additive, unstructured
    # additive, unstructured: the vector -> image network. mlp: an MLP to all pixels (fast on CPU);
    # broadcast: spatial broadcast decoder (slot tiled on a grid + position embedding, convs);
    # implicit: a coordinate MLP on the vector + Fourier features of each pixel's (patch's) position.
    arch: Literal["mlp", "broadcast", "implicit"] = "mlp"
    hidden: int = 128  # xattn: token width; mlp, implicit: hidden width
    depth: int = 2  # xattn: cross-attention layers; mlp: hidden layers; implicit: layers; broadcast: stride-1 convs
    heads: int = 4  # xattn: attention heads (must divide hidden)
    patch: int = 2  # xattn, implicit: each query paints a patch×patch block (1 = one query per pixel)
    fourier_bands: int = 6  # xattn, implicit: Fourier frequencies per axis of the query positions
    relative: bool = False  # implicit: positions relative to a frame (centre, scale) each slot sets
    channels: int = 32  # broadcast: conv channels
    kernel: int = 3  # broadcast: conv kernel size (odd)
    # broadcast: grid the slot is tiled on; 0 = full resolution, else res / broadcast_res must be a
    # power of 2, reached by stride-2 transposed convs.
    broadcast_res: int = 0

    def __post_init__(self) -> None:
        _positive(self, "hidden", "depth", "heads", "patch", "fourier_bands", "channels", "kernel")
        if self.kernel % 2 == 0:
            raise ValueError(f"DecoderConfig.kernel must be odd, got {self.kernel}")
        if self.hidden % self.heads:
            raise ValueError(f"DecoderConfig.hidden ({self.hidden}) must be divisible by heads ({self.heads})")
        if self.broadcast_res < 0:
            raise ValueError(f"DecoderConfig.broadcast_res must be >= 0, got {self.broadcast_res}")


@dataclass
class ModelConfig:
    res: int = 32  # image size (square)
    n_slots: int = 2  # K
    slot_dim: int = 32  # D
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    slot_encoder: SlotEncoderConfig = field(default_factory=SlotEncoderConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)

    def __post_init__(self) -> None:
        _positive(self, "res", "n_slots", "slot_dim")
        for registry, name in ((ENCODERS, self.encoder.name), (SLOT_ENCODERS, self.slot_encoder.name),
                               (DECODERS, self.decoder.name)):
            if name not in registry:
                raise ValueError(f"unknown {registry.kind} {name!r}; choose one of: {', '.join(registry.names())}")
        enc, dec = self.encoder, self.decoder
        if enc.name == "cnn" and self.res % enc.downsample:
            raise ValueError(f"res {self.res} is not divisible by encoder.downsample {enc.downsample}")
        if enc.name == "vit" and self.res % enc.patch:
            raise ValueError(f"res {self.res} is not divisible by the ViT encoder.patch {enc.patch}")
        if enc.name == "hf" and not enc.hf_path:
            raise ValueError("encoder 'hf' needs encoder.hf_path, a local Hugging Face model directory")
        if (dec.name == "xattn" or dec.arch == "implicit") and self.res % dec.patch:
            raise ValueError(f"res {self.res} is not divisible by decoder.patch {dec.patch}")
        if dec.name in ("additive", "unstructured") and dec.arch == "broadcast" and dec.broadcast_res:
            ratio = self.res // dec.broadcast_res
            if self.res % dec.broadcast_res or not _power_of_two(ratio):
                raise ValueError(f"res / decoder.broadcast_res must be a power of 2, got "
                                 f"{self.res} / {dec.broadcast_res}")


def reference_config(res: int = 64, n_slots: int = 2, slot_dim: int = 64) -> ModelConfig:
    """A model shaped like the ICLR'24 Slot Attention autoencoder, for benchmarks.

    Encoder: 4 × conv 5×5, 64 channels, stride 1, soft position embedding, LayerNorm + MLP.
    Slot Attention: width 64, MLP 128, 3 iterations. Decoder: additive, spatial broadcast on an
    8×8 grid + position embedding, stride-2 transposed convs 5×5 (64 channels) up to ``res``, one
    conv 5×5, an output conv 3×3 to RGB + alpha, softmax over slots. The original upsamples to
    128² and crops; here it stops at ``res`` (log2(res / 8) transposed convs).
    """
    return ModelConfig(
        res=res,
        n_slots=n_slots,
        slot_dim=slot_dim,
        encoder=EncoderConfig(name="cnn", channels=64, depth=4, kernel=5, downsample=1),
        slot_encoder=SlotEncoderConfig(name="slot_attention", hidden=64, mlp_hidden=128, iters=3),
        decoder=DecoderConfig(name="additive", arch="broadcast", channels=64, kernel=5, depth=1, broadcast_res=8),
    )
