import numpy as np
import pytest
from matplotlib.image import imread

from genperc.report import (
    ImageBatch,
    Meta,
    MethodRun,
    Results,
    chance_levels,
    plot_accuracy,
    plot_reconstructions,
    plot_replay_samples,
    plot_search_loss,
)

RNG = np.random.default_rng(0)


def check_png(path, min_side=150):
    """A real, non-blank PNG: it decodes, is reasonably large and has contrast."""
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(path)
    assert min(image.shape[:2]) >= min_side
    assert image[..., :3].std() > 0.02


def images(n, h=16):
    return RNG.random((n, 3, h, h))


def test_chance_levels():
    chance = chance_levels({"object.category": ["a", "b", "c", "d"], "background.category": ["x", "y"]})
    assert chance == {"object.category": 0.25, "background.category": 0.5, "joint": 0.125}


def test_accuracy_bars(tmp_path):
    runs = [MethodRun(s, m, {"object.category": 0.99, "joint": 0.98}, {"object.category": acc + 0.01 * s, "joint": acc})
            for s in (0, 1) for m, acc in (("encoder", 0.3), ("replay", 0.7), ("replay+search", 0.85))]
    meta = Meta(concept_values={"object.category": ["a", "b", "c", "d"]})
    results = Results("background", "quick", [0, 1], runs, "0" * 64, 1.0, meta)
    path = plot_accuracy(results, tmp_path / "figs" / "accuracy.png")
    assert path == tmp_path / "figs" / "accuracy.png"
    check_png(path)


@pytest.mark.parametrize("with_masks", [True, False])
def test_reconstructions(tmp_path, with_masks):
    def batch(n, k=3):
        x = images(n)
        masks = RNG.dirichlet(np.ones(k), size=(n, 16, 16)).transpose(0, 3, 1, 2) if with_masks else None
        return ImageBatch(x, np.clip(x + RNG.normal(0, 0.1, x.shape), 0, 1), masks)

    check_png(plot_reconstructions(batch(4), batch(8), tmp_path / "recon.png", max_images=5))


def test_reconstructions_reject_bad_shapes():
    with pytest.raises(ValueError, match="masks must be"):
        ImageBatch(images(2), images(2), RNG.random((2, 3, 8, 8)))
    with pytest.raises(ValueError, match="differ in shape"):
        ImageBatch(images(2), images(3))


def test_search_loss(tmp_path):
    steps = np.arange(60)
    losses = 0.05 * np.exp(-steps / 20)[None] * RNG.uniform(1, 2, (10, 1)) + 1e-3
    stopped = losses.copy()
    stopped[:3, 30:] = np.nan  # three images stopped early
    path = plot_search_loss({"search": losses, "replay+search": stopped / 5}, tmp_path / "loss.png", log_every=5)
    check_png(path)


def test_search_loss_needs_a_first_step(tmp_path):
    with pytest.raises(ValueError, match="finite first step"):
        plot_search_loss({"search": np.full((2, 5), np.nan)}, tmp_path / "loss.png")


def test_replay_samples(tmp_path):
    samples = images(11)
    check_png(plot_replay_samples(samples, tmp_path / "grid.png", ncols=4))
    sources = RNG.random((11, 2, 3, 16, 16))
    check_png(plot_replay_samples(samples, tmp_path / "sources.png", sources, ["object", "background"], ncols=6))
    with pytest.raises(ValueError, match="slot names"):
        plot_replay_samples(samples, tmp_path / "bad.png", sources, ["object"])
