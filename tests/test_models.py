"""Slot autoencoder models: shapes, training signal, decoder properties, penalty, configs."""

from __future__ import annotations

import itertools

import pytest
import torch

from genperc.config import ConfigError, from_dict
from genperc.models import (
    DECODERS,
    ENCODERS,
    SLOT_ENCODERS,
    DecoderConfig,
    EncoderConfig,
    ModelConfig,
    SlotEncoderConfig,
    SlotVAE,
    build_model,
    count_flops,
    interaction_penalty,
    reference_config,
)

RES, K, D, B = 16, 3, 8, 2

TINY_ENCODERS = {
    "cnn": EncoderConfig(name="cnn", channels=16, depth=2),
    "vit": EncoderConfig(name="vit", patch=4, width=32, depth=1, heads=2),
}
TINY_SLOT_ENCODERS = {
    "slot_attention": SlotEncoderConfig(name="slot_attention", hidden=32, mlp_hidden=32, iters=2),
    "transformer": SlotEncoderConfig(name="transformer", hidden=32, mlp_hidden=32, heads=2, layers=1),
}
TINY_DECODERS = {
    "xattn": DecoderConfig(name="xattn", hidden=32, heads=2, depth=2, patch=2, fourier_bands=3),
    "xattn_pixel": DecoderConfig(name="xattn", hidden=32, heads=2, depth=1, patch=1, fourier_bands=3),
    "additive_mlp": DecoderConfig(name="additive", arch="mlp", hidden=32, depth=1),
    "additive_broadcast": DecoderConfig(name="additive", arch="broadcast", channels=8, depth=1),
    "additive_broadcast_up": DecoderConfig(name="additive", arch="broadcast", channels=8, depth=1, broadcast_res=4),
    "additive_implicit": DecoderConfig(name="additive", arch="implicit", hidden=16, depth=2, patch=1, fourier_bands=3),
    "additive_implicit_patch": DecoderConfig(name="additive", arch="implicit", hidden=16, depth=1, patch=2,
                                             fourier_bands=3),
    "unstructured_mlp": DecoderConfig(name="unstructured", arch="mlp", hidden=32, depth=1),
    "unstructured_broadcast": DecoderConfig(name="unstructured", arch="broadcast", channels=8, depth=1),
}


def tiny(encoder: str = "cnn", slot_encoder: str = "slot_attention", decoder: str = "xattn") -> SlotVAE:
    torch.manual_seed(0)
    cfg = ModelConfig(res=RES, n_slots=K, slot_dim=D, encoder=TINY_ENCODERS[encoder],
                      slot_encoder=TINY_SLOT_ENCODERS[slot_encoder], decoder=TINY_DECODERS[decoder])
    return build_model(cfg)


def images(n: int = B, res: int = RES) -> torch.Tensor:
    return torch.rand(n, 3, res, res, generator=torch.Generator().manual_seed(1))


def test_registered_names() -> None:
    assert ENCODERS.names() == ["cnn", "hf", "vit"]
    assert SLOT_ENCODERS.names() == ["slot_attention", "transformer"]
    assert DECODERS.names() == ["additive", "unstructured", "xattn"]


@pytest.mark.parametrize(
    "encoder,slot_encoder,decoder",
    list(itertools.product(TINY_ENCODERS, TINY_SLOT_ENCODERS, ["xattn", "additive_mlp", "additive_broadcast",
                                                               "additive_implicit", "unstructured_mlp"])),
)
def test_combination_trains(encoder: str, slot_encoder: str, decoder: str) -> None:
    model = tiny(encoder, slot_encoder, decoder)
    x = images()
    out = model(x)
    post, dec = out.posterior, out.decoded
    assert post.mu.shape == post.logvar.shape == out.z.shape == (B, K, D)
    n_tokens = {"cnn": RES * RES, "vit": (RES // 4) ** 2}[encoder]
    assert post.attn is not None and post.attn.shape == (B, K, n_tokens)
    torch.testing.assert_close(post.attn.sum(dim=1), torch.ones(B, n_tokens))
    assert dec.image.shape == (B, 3, RES, RES)
    name = TINY_DECODERS[decoder].name
    assert (dec.masks is None) == (name == "unstructured")
    assert (dec.weights is None) == name.startswith("unstructured")
    assert (dec.slot_images is None) == (name != "additive")

    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(8):
        terms = model.loss(x, model(x, sample=False), beta=0.01, alpha=0.01)
        assert all(torch.isfinite(t) for t in (terms.total, terms.recon, terms.kl, terms.interaction))
        opt.zero_grad()
        terms.total.backward()
        opt.step()
        losses.append(terms.total.item())
    assert losses[-1] < 0.8 * losses[0], losses


def test_loss_terms_match_definitions() -> None:
    model = tiny(decoder="xattn")
    x = images()
    out = model(x)
    terms = model.loss(x, out, beta=0.5, alpha=2.0)
    recon = sum(((out.decoded.image[i] - x[i]) ** 2).sum() for i in range(B)) / B
    mu, logvar = out.posterior.mu, out.posterior.logvar
    kl = sum(0.5 * (mu[i] ** 2 + logvar[i].exp() - 1 - logvar[i]).sum() for i in range(B)) / B
    assert out.decoded.weights is not None
    inter = interaction_penalty(out.decoded.weights).mean()
    torch.testing.assert_close(terms.recon, recon)
    torch.testing.assert_close(terms.kl, kl)
    torch.testing.assert_close(terms.interaction, inter)
    torch.testing.assert_close(terms.total, recon + 0.5 * kl + 2.0 * inter)
    assert terms.interaction > 0
    additive = tiny(decoder="additive_mlp")  # its penalty is on the masks: pixels shared by slots
    out = additive(x)
    torch.testing.assert_close(additive.loss(x, out, beta=1.0, alpha=1.0).interaction,
                               interaction_penalty(out.decoded.masks.flatten(2)).mean())
    unstructured = tiny(decoder="unstructured_mlp")
    assert unstructured.loss(x, unstructured(x), beta=1.0, alpha=1.0).interaction == 0


def test_sample_flag() -> None:
    model = tiny()
    x = images()
    mean_out = model(x, sample=False)
    torch.testing.assert_close(mean_out.z, mean_out.posterior.mu)
    assert not torch.allclose(model(x, sample=True).z, mean_out.posterior.mu)


# --- interaction penalty -------------------------------------------------------------------


def brute_force_penalty(w: torch.Tensor) -> torch.Tensor:
    Bw, Kw, Pw = w.shape
    out = torch.zeros(Bw, dtype=w.dtype)
    for b in range(Bw):
        for i in range(Kw):
            for j in range(i + 1, Kw):
                out[b] += (w[b, i] * w[b, j]).sum()
    return out / Pw


def test_penalty_one_slot_per_query_is_zero() -> None:
    owner = torch.randint(0, 4, (3, 50))
    w = torch.nn.functional.one_hot(owner, 4).permute(0, 2, 1).float()  # (B, K, P)
    torch.testing.assert_close(interaction_penalty(w), torch.zeros(3))


@pytest.mark.parametrize("k", [2, 3, 5])
def test_penalty_uniform_closed_form(k: int) -> None:
    w = torch.full((2, k, 7), 1 / k)
    torch.testing.assert_close(interaction_penalty(w), torch.full((2,), (1 - 1 / k) / 2))


@pytest.mark.parametrize("k", [2, 3, 4])
def test_penalty_matches_brute_force(k: int) -> None:
    w = torch.rand(4, k, 11, generator=torch.Generator().manual_seed(k), dtype=torch.float64).softmax(dim=1)
    torch.testing.assert_close(interaction_penalty(w), brute_force_penalty(w))


# --- decoders ------------------------------------------------------------------------------


def any_z(n: int = B) -> torch.Tensor:
    # far from anything an encoder produces: search and replay decode arbitrary slots
    return 3 * torch.randn(n, K, D, generator=torch.Generator().manual_seed(2))


@pytest.mark.parametrize("decoder", ["xattn", "xattn_pixel"])
def test_xattn_weights_and_masks(decoder: str) -> None:
    model = tiny(decoder=decoder)
    patch = TINY_DECODERS[decoder].patch
    dec = model.decode(any_z())
    assert dec.weights is not None and dec.masks is not None
    n_queries = (RES // patch) ** 2
    assert dec.weights.shape == (B, K, n_queries)
    torch.testing.assert_close(dec.weights.sum(dim=1), torch.ones(B, n_queries))
    assert dec.masks.shape == (B, K, RES, RES)
    torch.testing.assert_close(dec.masks.sum(dim=1), torch.ones(B, RES, RES))
    # masks are the query weights spread over each query's patch
    torch.testing.assert_close(dec.masks[:, :, ::patch, ::patch].flatten(2), dec.weights)


@pytest.mark.parametrize("decoder", ["additive_mlp", "additive_broadcast", "additive_broadcast_up", "additive_implicit",
                                     "additive_implicit_patch"])
def test_additive_masks_and_composite(decoder: str) -> None:
    dec = tiny(decoder=decoder).decode(any_z())
    assert dec.masks is not None and dec.slot_images is not None
    assert dec.masks.shape == (B, K, RES, RES) and dec.slot_images.shape == (B, K, 3, RES, RES)
    torch.testing.assert_close(dec.masks.sum(dim=1), torch.ones(B, RES, RES))
    torch.testing.assert_close(dec.image, (dec.masks.unsqueeze(2) * dec.slot_images).sum(dim=1))


@pytest.mark.parametrize("decoder", list(TINY_DECODERS))
def test_decoder_deterministic_on_arbitrary_z_and_per_image(decoder: str) -> None:
    model = tiny(decoder=decoder).train()
    z = any_z(4)
    a, b = model.decode(z).image, model.decode(z).image
    assert a.shape == (4, 3, RES, RES) and torch.isfinite(a).all()
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    # no batch statistics: an image does not depend on the rest of the batch
    torch.testing.assert_close(model.decode(z[1:2]).image, a[1:2], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("decoder", list(TINY_DECODERS))
def test_gradient_reaches_z(decoder: str) -> None:
    model = tiny(decoder=decoder)
    model.requires_grad_(False)  # search: frozen decoder, optimise z
    z = any_z().requires_grad_(True)
    ((model.decode(z).image - images()) ** 2).sum().backward()
    assert z.grad is not None and torch.isfinite(z.grad).all()
    assert (z.grad.abs().sum(dim=-1) > 0).all()  # every slot of every image gets a gradient


def test_additive_slots_do_not_interact_except_through_masks() -> None:
    # changing one slot leaves the other slots' images unchanged (per-slot decoding, shared weights)
    model = tiny(decoder="additive_mlp")
    z = any_z()
    z2 = z.clone()
    z2[:, 0] += 1.0
    a, b = model.decode(z).slot_images, model.decode(z2).slot_images
    assert a is not None and b is not None
    torch.testing.assert_close(a[:, 1:], b[:, 1:])
    assert not torch.allclose(a[:, 0], b[:, 0])


# --- slot encoders -------------------------------------------------------------------------


def test_slot_attention_detach_last() -> None:
    torch.manual_seed(0)
    tokens = torch.randn(B, 20, 16)
    cfg = SlotEncoderConfig(hidden=16, mlp_hidden=16, iters=3)
    plain = SLOT_ENCODERS.create("slot_attention", cfg=cfg, in_dim=16, n_slots=K, slot_dim=D)
    detached = SLOT_ENCODERS.create("slot_attention", cfg=SlotEncoderConfig(hidden=16, mlp_hidden=16, iters=3,
                                                                            detach_last=True),
                                    in_dim=16, n_slots=K, slot_dim=D)
    detached.load_state_dict(plain.state_dict())
    p, q = plain(tokens), detached(tokens)
    torch.testing.assert_close(p.mu, q.mu)  # same values, different gradient path
    grads = []
    for module, post in ((plain, p), (detached, q)):
        post.mu.sum().backward()
        assert module.init.grad is not None and module.init.grad.abs().sum() > 0  # init still trains
        grads.append(module.to_q.weight.grad.clone())
    assert not torch.allclose(grads[0], grads[1])


def test_slot_order_is_tied_to_learned_init() -> None:
    # swapping the learned initial slots swaps the output slots: slot k is the same slot on every image
    model = tiny(slot_encoder="slot_attention")
    x = images()
    a = model.encode(x).mu
    with torch.no_grad():
        model.slot_encoder.init.copy_(model.slot_encoder.init.flip(0))
    torch.testing.assert_close(model.encode(x).mu, a.flip(1), rtol=1e-4, atol=1e-5)


# --- configs -------------------------------------------------------------------------------


def test_config_from_dict_and_defaults() -> None:
    cfg = from_dict(ModelConfig, {"res": 16, "decoder": {"name": "xattn", "patch": 4},
                                  "encoder": {"name": "vit", "patch": 4}})
    assert cfg.decoder.patch == 4 and cfg.encoder.name == "vit" and cfg.slot_encoder.name == "slot_attention"
    model = build_model(ModelConfig())
    assert model(torch.rand(2, 3, 32, 32)).decoded.image.shape == (2, 3, 32, 32)


@pytest.mark.parametrize(
    "data,match",
    [
        ({"decoder": {"name": "nerf"}}, "unknown decoder 'nerf'; choose one of: additive, unstructured, xattn"),
        ({"encoder": {"name": "resnet"}}, "unknown base encoder 'resnet'"),
        ({"slot_encoder": {"name": "gnn"}}, "unknown slot encoder 'gnn'"),
        ({"res": 30, "decoder": {"name": "xattn", "patch": 4}}, "res 30 is not divisible by decoder.patch 4"),
        ({"res": 30, "encoder": {"name": "vit", "patch": 4}}, "res 30 is not divisible by the ViT encoder.patch 4"),
        ({"res": 32, "decoder": {"arch": "broadcast", "broadcast_res": 12}}, "power of 2"),
        ({"decoder": {"arch": "conv"}}, "decoder.arch must be one of"),
        ({"decoder": {"hidden": 30, "heads": 4}}, "divisible by heads"),
        ({"encoder": {"name": "hf"}}, "needs encoder.hf_path"),
        ({"encoder": {"lora_rank": 4, "hf_freeze": False}}, "hf_freeze"),
        ({"decoder": {"pach": 2}}, "did you mean 'decoder.patch'"),
    ],
)
def test_bad_config_raises_clear_error(data: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        from_dict(ModelConfig, data)


def test_bad_config_direct_and_bad_inputs() -> None:
    with pytest.raises(ValueError, match="unknown decoder"):
        ModelConfig(decoder=DecoderConfig(name="nerf"))
    with pytest.raises(ValueError, match="not divisible"):
        ModelConfig(res=30, decoder=DecoderConfig(name="xattn", patch=4))
    model = tiny()
    with pytest.raises(ValueError, match=r"expected images of shape \(B, 3, 16, 16\)"):
        model.encode(torch.rand(2, 3, 32, 32))
    with pytest.raises(ValueError, match=r"expected slots of shape \(B, 3, 8\)"):
        model.decode(torch.rand(2, 2, 8))


# --- reference model and FLOPs -------------------------------------------------------------


def test_reference_config_shape() -> None:
    cfg = reference_config(res=32)
    model = build_model(cfg)
    convs = [m for m in model.encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size, c.stride) for c in convs] == [(64, (5, 5), (1, 1))] * 4
    ups = [m for m in model.decoder.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert len(ups) == 2  # 8 -> 16 -> 32
    out = model(images(2, 32))
    assert out.decoded.image.shape == (2, 3, 32, 32) and out.decoded.masks is not None


def test_count_flops_scales_with_batch_and_leaves_grads() -> None:
    model = tiny(decoder="xattn")
    one, two, three = (count_flops(model, images(n)) for n in (2, 4, 6))
    # linear in the batch (the xattn query embedding is computed once per step, not per image)
    assert 0 < two - one == three - two <= one
    assert all(p.grad is None for p in model.parameters())
    assert 0 < count_flops(model, images(2), backward=False) < one


def test_implicit_patches_land_where_their_query_is() -> None:
    from genperc.models.image_nets import ImplicitImageNet

    net = ImplicitImageNet(in_dim=2, out_channels=3, res=8, hidden=4, depth=1, bands=2, patch=2)
    g, p, C = 4, 2, 3

    class Tagger(torch.nn.Module):  # output value = 1000·query + 100·channel + 10·row + column within the patch
        def forward(self, h: torch.Tensor) -> torch.Tensor:
            q = torch.arange(g * g).view(1, g * g, 1, 1, 1)
            c = torch.arange(C).view(1, 1, C, 1, 1)
            i, j = torch.arange(p).view(1, 1, 1, p, 1), torch.arange(p).view(1, 1, 1, 1, p)
            tags = (1000 * q + 100 * c + 10 * i + j).float().expand(h.shape[0], -1, -1, -1, -1)
            return tags.reshape(h.shape[0], g * g, C * p * p)

    net.net = Tagger()
    img = net(torch.zeros(1, 2))[0]  # (C, 8, 8)
    for y in range(8):
        for x in range(8):
            q = (y // p) * g + (x // p)
            assert img[1, y, x] == 1000 * q + 100 + 10 * (y % p) + (x % p)
