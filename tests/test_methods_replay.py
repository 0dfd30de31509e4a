"""Replay training on a random decoder: the loss falls, the trained encoder recovers unseen
recombinations far better than chance, and cached batches are the decoded samples."""

from collections import Counter

import numpy as np
import torch

from genperc.eval import matched_mse
from genperc.methods import ReplayConfig, SlotEncoderNet, SlotRecombiner, encode, fit_replay_encoder
from genperc.methods.replay import CachedRecombinations, LiveRecombinations, build_cache, decode_images
from genperc.models import DecoderConfig, EncoderConfig, ModelConfig, SlotEncoderConfig, build_model
from genperc.training import checkpoint as ckpt


CFG = ModelConfig(res=16, n_slots=2, slot_dim=4, encoder=EncoderConfig(channels=16, depth=2),
                  slot_encoder=SlotEncoderConfig(name="transformer", hidden=32, mlp_hidden=64, layers=1, heads=2),
                  decoder=DecoderConfig(name="additive", arch="mlp", hidden=32, depth=1))


def setup(seed: int = 0):
    torch.manual_seed(seed)
    model = build_model(CFG).eval()
    bank = torch.randn(64, 2, 4, generator=torch.Generator().manual_seed(seed))
    return model, bank


def rows(z: torch.Tensor) -> Counter:
    return Counter(tuple(r) for r in z.flatten(1).tolist())


def test_replay_training_learns_to_recover_recombined_slots():
    model, bank = setup()
    cfg = ReplayConfig(steps=300, batch_size=32, lr=3e-3, lr_warmup_steps=10, clamp=False, progress=False)
    torch.manual_seed(1)
    encoder = SlotEncoderNet(CFG)
    source = LiveRecombinations(model, SlotRecombiner(bank, seed=0), clamp=False)
    fit = fit_replay_encoder(bank, encoder, cfg, source)
    assert fit.losses.shape == (300,) and np.isfinite(fit.losses).all()
    assert fit.losses[-25:].mean() < 0.5 * fit.losses[:25].mean()

    test = SlotRecombiner(bank, seed=99).sample(128)  # recombinations drawn independently of training
    pred = encode(fit.encoder, decode_images(model, test.z, clamp=False))
    shuffled = test.z[torch.randperm(128, generator=torch.Generator().manual_seed(0))]
    chance = matched_mse(shuffled, test.z)  # a random recombination's slots as the guess
    assert matched_mse(pred, test.z) < 0.5 * chance
    assert not any(p.grad is not None for p in model.parameters())  # the decoder is not trained


def test_real_images_can_be_mixed_in():
    model, bank = setup()
    real = (decode_images(model, bank, clamp=True) * 255).round().to(torch.uint8)
    cfg = ReplayConfig(steps=3, batch_size=8, real_fraction=0.5, progress=False)
    fit = fit_replay_encoder(bank, SlotEncoderNet(CFG), cfg,
                             LiveRecombinations(model, SlotRecombiner(bank), clamp=True), real_images=real)
    assert np.isfinite(fit.losses).all()


def test_disk_cache_streams_the_decoded_samples(tmp_path):
    model, bank = setup()
    cfg = ReplayConfig(cache="disk", cache_images=50, shard_size=20)
    build_cache(tmp_path / "c", {"k": 1}, model, SlotRecombiner(bank, seed=3), cfg)
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == [
        "key.json", "shard-00000.pt", "shard-00001.pt", "shard-00002.pt"]
    stream = CachedRecombinations(tmp_path / "c", torch.device("cpu"), seed=0)
    seen = []
    for _ in range(5):  # 5 × 16 = 80 > 50: the stream wraps around to a new pass
        images, z = stream.next(16)
        assert images.shape == (16, 3, 16, 16) and z.shape == (16, 2, 4)
        assert (images - decode_images(model, z, clamp=True)).abs().max() <= 0.5 / 255 + 1e-5
        seen.append(z)
    cached = torch.cat([ckpt.load(p)["z"] for p in sorted((tmp_path / "c").glob("shard-*.pt"))])
    assert rows(torch.cat(seen)[:50]) == rows(cached)  # the first pass is the cache, each sample once
