"""The method commands end to end on a tiny dataset and a tiny trained VAE: the files they write,
their contents, and one-line errors on bad input before any work."""

import shutil

import numpy as np
import pytest
import torch

from genperc import config
from genperc.cli.main import main
from genperc.methods import Latents, ReplayConfig, SupervisedConfig, replay_split, train_replay, train_supervised
from genperc.training import TrainConfig, train


@pytest.fixture(scope="session")
def vae_run(sprite_dataset, tmp_path_factory):
    run = tmp_path_factory.mktemp("vae") / "run"
    cfg = config.load(TrainConfig, preset=("train", "tiny"), overrides=[
        f"data={sprite_dataset}", f"out={run}", "model.res=16", "progress=false"])
    train(cfg)
    return run


@pytest.fixture
def run(vae_run, tmp_path):
    """A private copy of the VAE run, so tests may add a replay encoder or latents to it."""
    return shutil.copytree(vae_run, tmp_path / "run")


def cli(*args) -> int:
    return main([str(a) for a in args])


def one_line_error(capsys, rc: int, *needles: str) -> None:
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and err and "Traceback" not in "\n".join(err)
    assert all(n in err[-1] for n in needles), err[-1]


def test_encode_writes_latents_and_refuses_to_overwrite(run, sprite_dataset, capsys):
    assert cli("encode", run, "--data", sprite_dataset, "--split", "test_ood", "batch_size=8") == 0
    path = run / "latents" / "encoder_test_ood.pt"
    lat = Latents.load(path)
    assert lat.method == "encoder" and lat.split == "test_ood" and lat.mu.shape == (32, 2, 8)
    assert "batch_size: 8" in path.with_suffix(".yaml").read_text()
    assert "wrote" in capsys.readouterr().out
    one_line_error(capsys, cli("encode", run, "--data", sprite_dataset, "--split", "test_ood"), "--overwrite")
    assert cli("encode", run, "--data", sprite_dataset, "--split", "test_ood", "--overwrite") == 0


def test_bad_input_fails_with_one_line(run, sprite_dataset, tmp_path, capsys):
    one_line_error(capsys, cli("encode", tmp_path / "nope", "--data", sprite_dataset, "--split", "val"),
                   "does not exist")
    one_line_error(capsys, cli("encode", run, "--data", sprite_dataset, "--split", "ood"), "unknown split")
    one_line_error(capsys, cli("search", run, "--data", sprite_dataset, "--split", "val", "--init", "replay"),
                   "no replay encoder yet", "genperc replay")
    one_line_error(capsys, cli("encode", run, "--data", sprite_dataset, "--split", "val", "--method", "replay"),
                   "no replay encoder yet")
    one_line_error(capsys, cli("search", run, "--data", tmp_path, "--split", "val"), "manifest.json not found")
    one_line_error(capsys, cli("search", run, "--data", sprite_dataset, "--split", "val", "stpes=3"), "steps")
    one_line_error(capsys, cli("replay", run, "--data", sprite_dataset, "sampler.mode=other"), "sampler.mode")
    assert not (run / "latents").exists() and not (run / "replay").exists()  # nothing was written


def test_search_writes_latents_with_their_cost(run, sprite_dataset, capsys):
    assert cli("search", run, "--data", sprite_dataset, "--split", "val", "--preset", "tiny", "restarts=2",
               "early_stop=false") == 0
    lat = Latents.load(run / "latents" / "search_val.pt")
    assert lat.method == "search" and lat.mu.shape == (16, 2, 8)
    assert (lat.cost.steps == 40).all() and lat.cost.wall_s > 0 and lat.loss.shape == (16,)
    assert lat.meta["loss_mean"] <= lat.meta["init_loss_mean"] and len(lat.meta["trace"]) == 20
    assert lat.meta["config"]["restarts"] == 2
    assert cli("search", run, "--data", sprite_dataset, "--split", "val", "--init", "zero", "--out",
               run / "z.pt", "steps=3") == 0
    assert Latents.load(run / "z.pt").method == "search-zero"
    assert "reconstruction error" in capsys.readouterr().out


def test_replay_then_replay_search(run, sprite_dataset, capsys):
    assert cli("replay", run, "--data", sprite_dataset, "--preset", "tiny", "cache=disk", "real_fraction=0.25") == 0
    rdir = run / "replay"
    written = {p.name for p in rdir.iterdir()}
    assert {"config.yaml", "metrics.jsonl", "metrics.csv", "encoder.pt", "summary.json"} <= written
    assert config.load(ReplayConfig, file=rdir / "config.yaml").real_fraction == 0.25
    (cache,) = (rdir / "cache").iterdir()
    shards = sorted(cache.glob("shard-*.pt"))
    assert len(shards) == 2 and (cache / "key.json").is_file()
    one_line_error(capsys, cli("replay", run, "--data", sprite_dataset, "--preset", "tiny"), "--overwrite")
    stamp = shards[0].stat().st_mtime_ns
    assert cli("replay", run, "--data", sprite_dataset, "--preset", "tiny", "cache=disk", "real_fraction=0.25",
               "steps=10", "--overwrite") == 0
    assert shards[0].stat().st_mtime_ns == stamp  # the cache was reused, not rebuilt
    assert (rdir / "metrics.jsonl").read_text().splitlines()[-1].startswith('{"step": 10,')  # logs start afresh

    assert cli("encode", run, "--data", sprite_dataset, "--split", "test_ood", "--method", "replay") == 0
    assert Latents.load(run / "latents" / "replay_test_ood.pt").method == "replay"
    assert cli("search", run, "--data", sprite_dataset, "--split", "test_ood", "--init", "replay",
               "--preset", "tiny") == 0
    lat = Latents.load(run / "latents" / "replay_search_test_ood.pt")
    assert lat.method == "replay+search" and lat.meta["encode_s"] > 0 and (lat.cost.steps >= 1).all()


def test_novel_only_replay_of_a_fresh_encoder(run, sprite_dataset):
    cfg = config.load(ReplayConfig, preset=("methods/replay", "tiny"), overrides=[
        f"data={sprite_dataset}", "sampler.mode=novel_only", "init=fresh", "steps=5"])
    result = train_replay(run, cfg)
    assert result.steps == 5 and np.isfinite(result.final_loss)
    assert replay_split(run, sprite_dataset, "val").mu.shape == (16, 2, 8)


def test_supervised_and_the_augmentation_control(run, sprite_dataset, tmp_path, capsys):
    assert cli("train-supervised", "--data", sprite_dataset, "--out", tmp_path / "sup", "--preset", "tiny") == 0
    assert "supervised" in capsys.readouterr().out
    assert cli("train-supervised", "--data", sprite_dataset, "--out", tmp_path / "aug", "--preset", "tiny",
               f"augment_from={run}", "augment_sampler.mode=cyclic_shift") == 0
    assert cli("encode", tmp_path / "aug", "--method", "supervised", "--data", sprite_dataset, "--split",
               "test_ood") == 0
    lat = Latents.load(tmp_path / "aug" / "latents" / "replay-augmentation_test_ood.pt")
    assert lat.method == "replay-augmentation" and lat.pred.shape == (32, 2) and lat.mu.shape == (32, 2, 8)
    one_line_error(capsys, cli("train-supervised", "--data", sprite_dataset, "--out", tmp_path / "aug2",
                               f"augment_from={tmp_path / 'nothing'}"), "does not exist")


def test_augmentation_takes_a_label_function(run, sprite_dataset, tmp_path):
    seen = []

    def label_fn(z: torch.Tensor) -> torch.Tensor:
        seen.append(tuple(z.shape))
        return torch.zeros(len(z), 2, dtype=torch.long)

    cfg = config.load(SupervisedConfig, preset=("methods/supervised", "tiny"), overrides=[
        f"data={sprite_dataset}", f"out={tmp_path / 'aug'}", "model.res=16", f"augment_from={run}", "steps=4",
        "augment_fraction=0.25"])
    train_supervised(cfg, label_fn=label_fn)
    assert seen == [(4, 2, 8)] * 4  # a quarter of each batch of 16, slots of the VAE
