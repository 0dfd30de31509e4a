"""Search: planted latents are recovered under random decoders of every kind, images are optimised
independently (batched = one at a time, early stopping and compaction included), the update is
Adam's, restarts keep the best, and the decoder is never changed."""

import pytest
import torch

from genperc.methods import SearchConfig, initial_latents, reconstruction_loss, search
from genperc.models import DecoderConfig, EncoderConfig, ModelConfig, SlotEncoderConfig, build_model


DECODERS = {
    "additive": DecoderConfig(name="additive", arch="mlp", hidden=32, depth=1),
    "additive-broadcast": DecoderConfig(name="additive", arch="broadcast", channels=16, depth=1, broadcast_res=4),
    "xattn": DecoderConfig(name="xattn", hidden=64, depth=2, heads=4, patch=2, fourier_bands=4),
    "unstructured": DecoderConfig(name="unstructured", arch="mlp", hidden=64, depth=1),
}


def random_model(decoder: str, seed: int = 0):
    torch.manual_seed(seed)
    cfg = ModelConfig(res=16, n_slots=2, slot_dim=8, encoder=EncoderConfig(channels=8, depth=2),
                      slot_encoder=SlotEncoderConfig(hidden=16, mlp_hidden=16, iters=2), decoder=DECODERS[decoder])
    return build_model(cfg).eval()


def planted(model, n: int, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, 2, 8, generator=g)
    with torch.no_grad():
        images = model.decode(z.to(next(model.parameters()).device)).image.cpu()
    return z, images, g


@pytest.mark.parametrize("decoder", list(DECODERS))
def test_search_recovers_planted_latents(decoder):
    model = random_model(decoder)
    z_true, images, g = planted(model, 6)
    init = z_true + 0.1 * torch.randn(z_true.shape, generator=g)
    result = search(model, images, init, SearchConfig(steps=300, lr=0.01, early_stop=False))
    latent_before = (init - z_true).square().mean()
    latent_after = (result.z - z_true).square().mean()
    assert result.loss.mean() < 1e-3 * result.init_loss.mean()
    assert latent_after < 1e-2 * latent_before
    assert torch.allclose(result.loss, reconstruction_loss(model, result.z, images).detach(), rtol=1e-4, atol=1e-6)
    assert result.trace[-1] < result.trace[0] and len(result.trace) == 300
    assert (result.steps == 300).all()


@pytest.mark.parametrize("early_stop", [False, True])
def test_batched_search_equals_per_image_search(early_stop):
    model = random_model("additive")
    z_true, images, g = planted(model, 5)
    # different distances from the optimum, so with early stopping images stop at different steps
    init = z_true + torch.tensor([0.0, 0.02, 0.1, 0.3, 1.0])[:, None, None] * torch.randn(z_true.shape, generator=g)
    cfg = SearchConfig(steps=80, lr=0.01, early_stop=early_stop, window=5, tol=1e-2)
    batched = search(model, images, init, cfg)
    alone = [search(model, images[i : i + 1], init[i : i + 1], cfg) for i in range(5)]
    assert torch.equal(batched.steps, torch.cat([a.steps for a in alone]))
    assert torch.allclose(batched.z, torch.cat([a.z for a in alone]), atol=1e-5)
    assert torch.allclose(batched.loss, torch.cat([a.loss for a in alone]), rtol=1e-4, atol=1e-6)
    if early_stop:
        assert len(set(batched.steps.tolist())) > 1  # the images did stop at different steps
    # chunking the batch changes nothing either
    chunked = search(model, images, init, SearchConfig(**{**vars(cfg), "batch_size": 2}))
    assert torch.equal(chunked.steps, batched.steps) and torch.allclose(chunked.z, batched.z, atol=1e-5)


def test_update_is_torch_adam():
    model = random_model("xattn")
    z_true, images, g = planted(model, 3)
    init = z_true + 0.05 * torch.randn(z_true.shape, generator=g)
    cfg = SearchConfig(steps=6, lr=1e-3, early_stop=False)
    result = search(model, images, init, cfg)
    z = init.clone().requires_grad_(True)
    opt = torch.optim.Adam([z], lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps)
    for _ in range(cfg.steps):
        opt.zero_grad()
        reconstruction_loss(model, z, images).sum().backward()
        opt.step()
    assert (result.loss < result.init_loss).all()  # small steps: the last iterate is the best one
    assert torch.allclose(result.z, z.detach(), atol=1e-6)


def test_sgd_update_is_torch_sgd_with_momentum():
    model = random_model("additive")
    z_true, images, g = planted(model, 3)
    init = z_true + 0.05 * torch.randn(z_true.shape, generator=g)
    cfg = SearchConfig(steps=6, lr=1e-3, optimizer="sgd", early_stop=False)
    result = search(model, images, init, cfg)
    z = init.clone().requires_grad_(True)
    opt = torch.optim.SGD([z], lr=cfg.lr, momentum=cfg.beta1)
    for _ in range(cfg.steps):
        opt.zero_grad()
        reconstruction_loss(model, z, images).sum().backward()
        opt.step()
    assert (result.loss < result.init_loss).all()
    assert torch.allclose(result.z, z.detach(), atol=1e-6)


def test_sgd_leaves_dimensions_the_decoder_barely_uses_where_they_were():
    model = random_model("additive")
    first = next(m for m in model.decoder.modules() if isinstance(m, torch.nn.Linear) and m.in_features == 8)
    with torch.no_grad():
        first.weight[:, 0] *= 1e-4  # slot dimension 0 hardly changes the image
    z_true, images, g = planted(model, 4)
    init = z_true + 0.1 * torch.randn(z_true.shape, generator=g)
    moved = {}
    for opt in ("adam", "sgd"):
        z = search(model, images, init, SearchConfig(steps=50, lr=0.01, optimizer=opt, early_stop=False)).z
        moved[opt] = (z - init)[..., 0].abs().mean().item(), (z - init)[..., 1:].abs().mean().item()
    assert moved["adam"][0] > 0.2 * moved["adam"][1]  # Adam's normalised steps move it like the others
    assert moved["sgd"][0] < 1e-3 * moved["sgd"][1]
    with pytest.raises(ValueError, match="optimizer"):
        SearchConfig(optimizer="lbfgs")


def test_early_stopping_freezes_converged_images_and_stops_computing_them():
    model = random_model("additive")
    z_true, images, g = planted(model, 4)
    init = z_true.clone()
    init[2:] += 0.5 * torch.randn(init[2:].shape, generator=g)  # images 0, 1 start at the optimum
    sizes = []
    hook = model.decoder.register_forward_pre_hook(lambda mod, args: sizes.append(args[0].shape[0]))
    result = search(model, images, init, SearchConfig(steps=60, lr=0.01, window=5, tol=1e-3))
    hook.remove()
    assert result.steps[:2].tolist() == [5, 5]  # no improvement at all over the first window
    assert (result.steps[2:] > 5).all()
    assert torch.equal(result.z[:2], z_true[:2])
    assert sizes[0] == 4 and min(sizes) <= 2 and sizes == sorted(sizes, reverse=True)
    assert sum(sizes) < 4 * len(sizes)


def test_restarts_keep_the_best():
    model = random_model("unstructured")
    z_true, images, g = planted(model, 4)
    good = z_true + 0.01 * torch.randn(z_true.shape, generator=g)
    bad = z_true + 3.0 * torch.randn(z_true.shape, generator=g)
    cfg = SearchConfig(steps=10, lr=0.01, early_stop=False)
    result = search(model, images, torch.stack([bad, good, bad.flip(0)]), cfg)
    single = [search(model, images, init, cfg) for init in (bad, good, bad.flip(0))]
    best = torch.stack([s.loss for s in single]).min(0)
    assert torch.equal(result.best_restart, best.indices) and (result.best_restart == 1).all()
    assert torch.allclose(result.loss, best.values, rtol=1e-4)
    assert torch.allclose(result.z, single[1].z, atol=1e-5)
    assert (result.steps == 30).all()  # the cost counts every restart


def test_decoder_is_frozen_and_unchanged():
    model = random_model("xattn").train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    z_true, images, _ = planted(model, 3)
    search(model, images, torch.zeros_like(z_true), SearchConfig(steps=5))
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    assert model.training  # the mode is put back


def test_initial_latents():
    base = torch.randn(5, 2, 8)
    enc = initial_latents(base, SearchConfig(restarts=3, restart_noise=0.1), (5, 2, 8))
    assert enc.shape == (3, 5, 2, 8) and torch.equal(enc[0], base)
    assert 0.05 < (enc[1:] - base).std() < 0.2
    zero = initial_latents(None, SearchConfig(init="zero"), (5, 2, 8))
    assert zero.shape == (1, 5, 2, 8) and not zero.any()
    rnd = initial_latents(None, SearchConfig(init="random", restarts=2, seed=3), (5, 2, 8))
    assert torch.equal(rnd, initial_latents(None, SearchConfig(init="random", restarts=2, seed=3), (5, 2, 8)))
    assert not torch.equal(rnd[0], rnd[1])
    with pytest.raises(ValueError, match="needs the encoder"):
        initial_latents(None, SearchConfig(init="encoder"), (5, 2, 8))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_search_runs_on_the_models_device():
    model = random_model("xattn").cuda()
    z_true, images, g = planted(model, 4)
    init = z_true + 0.1 * torch.randn(z_true.shape, generator=g)
    result = search(model, images, init, SearchConfig(steps=50, lr=0.01))
    assert result.z.device.type == "cpu" and result.loss.mean() < result.init_loss.mean()


def test_prior_term_pulls_slots_towards_the_origin():
    model = random_model("additive")
    z_true, images, g = planted(model, 6)
    init = z_true + 0.3 * torch.randn(z_true.shape, generator=g)
    plain = search(model, images, init, SearchConfig(steps=100, lr=0.02, early_stop=False, prior=0.0))
    map_ = search(model, images, init, SearchConfig(steps=100, lr=0.02, early_stop=False, prior=5.0))
    assert map_.z.square().sum() < plain.z.square().sum()
    expected = reconstruction_loss(model, map_.z, images).detach() + 2.5 * map_.z.square().flatten(1).sum(1)
    assert torch.allclose(map_.loss, expected, rtol=1e-4)  # the kept loss is the whole objective
    with pytest.raises(ValueError, match="prior"):
        SearchConfig(prior=-1.0)
