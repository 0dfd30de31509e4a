"""The VAE training loop: resume after SIGKILL equals an uninterrupted run, atomic and verified
checkpoints, early rejection of bad configs, a clear stop on a non-finite loss."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from genperc import config
from genperc.config import ConfigError
from genperc.training import TrainConfig, TrainingError, load_run, train
from genperc.training import checkpoint as ckpt
from genperc.training.logs import read_jsonl


def tiny_cfg(data, out, **kw):
    overrides = [f"data={data}", f"out={out}", "model.res=16", "progress=false"] + [f"{k}={v}" for k, v in kw.items()]
    return config.load(TrainConfig, preset=("train", "tiny"), overrides=overrides)


def cli(*args):
    return [sys.executable, "-m", "genperc.cli.main", *args]


def test_resume_after_sigkill_equals_uninterrupted_run(sprite_dataset, tmp_path):
    common = ["--preset", "tiny", f"data={sprite_dataset}", "max_steps=60", "checkpoint_every=10", "log_every=5",
              "progress=false", "threads=1"]
    subprocess.run(cli("train", *common, f"out={tmp_path / 'a'}"), check=True, capture_output=True)
    killed = tmp_path / "b"
    proc = subprocess.Popen(cli("train", *common, f"out={killed}"), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not ckpt.path_for(killed, 20).exists():
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    steps = [s for s, _ in ckpt.list_checkpoints(killed)]
    assert steps and max(steps) < 60, f"the run was not killed part-way (checkpoints {steps})"
    subprocess.run(cli("train", "--resume", str(killed)), check=True, capture_output=True)
    a, b = ckpt.load(ckpt.latest(tmp_path / "a")), ckpt.load(ckpt.latest(killed))
    assert a["step"] == b["step"] == 60
    for k, v in a["model"].items():
        assert torch.equal(v, b["model"][k]), k
    la, lb = read_jsonl(tmp_path / "a" / "metrics.jsonl"), read_jsonl(killed / "metrics.jsonl")
    assert [r["step"] for r in la] == [r["step"] for r in lb] == list(range(5, 61, 5))
    assert [r["loss"] for r in la] == [r["loss"] for r in lb]


def test_run_dir_contents_and_loading(sprite_dataset, tmp_path):
    result = train(tiny_cfg(sprite_dataset, tmp_path / "r", image_every=10))
    run = tmp_path / "r"
    assert result.step == 30 and (run / "config.yaml").exists() and (run / "summary.json").exists()
    assert config.load(TrainConfig, file=run / "config.yaml") == tiny_cfg(sprite_dataset, run, image_every=10)
    rows = read_jsonl(run / "metrics.jsonl")
    assert rows and all({"step", "loss", "recon", "kl", "interaction", "lr"} <= set(r) for r in rows)
    assert rows[-1]["loss"] < rows[0]["loss"]
    assert (run / "metrics.csv").read_text().startswith("step,loss")
    assert list((run / "images").glob("step_*.png")) and list((run / "tb").iterdir())
    assert [s for s, _ in ckpt.list_checkpoints(run)] == [20, 30]  # keep_checkpoints=2
    loaded = load_run(run)
    assert loaded.step == 30 and not loaded.model.training


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "c.pt"
    ckpt.save(path, {"w": torch.ones(3)})

    def crash(*a, **k):
        raise OSError("killed during rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        ckpt.save(path, {"w": torch.zeros(3)})
    monkeypatch.undo()
    assert torch.equal(ckpt.load(path)["w"], torch.ones(3))  # the old checkpoint is intact


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage"])
def test_corrupted_checkpoint_is_rejected_by_name(tmp_path, damage):
    path = tmp_path / "checkpoints" / "step_00000010.pt"
    ckpt.save(path, {"w": torch.arange(100.0)})
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[-5] ^= 0x01
    elif damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data = bytearray(b"not a checkpoint at all")
    path.write_bytes(bytes(data))
    with pytest.raises(ckpt.CheckpointError, match=str(path)):
        ckpt.load(path)


def test_resume_rejects_a_corrupted_latest_checkpoint(sprite_dataset, tmp_path):
    run = tmp_path / "r"
    train(tiny_cfg(sprite_dataset, run, max_steps=20))
    latest = ckpt.latest(run)
    latest.write_bytes(latest.read_bytes()[:-100])
    from genperc.training import resume_training

    with pytest.raises(ckpt.CheckpointError, match="corrupted"):
        resume_training(run, ["max_steps=30"])


def test_bad_configs_fail_before_training(sprite_dataset, tmp_path):
    with pytest.raises(ConfigError, match="model.decoder.nme"):
        tiny_cfg(sprite_dataset, tmp_path / "x", **{"model.decoder.nme": "xattn"})
    with pytest.raises(ConfigError, match="unknown decoder"):
        tiny_cfg(sprite_dataset, tmp_path / "x", **{"model.decoder.name": "nope"})
    with pytest.raises(TrainingError, match="model.res=32"):
        train(tiny_cfg(sprite_dataset, tmp_path / "x", **{"model.res": 32}))
    with pytest.raises(TrainingError, match="fewer than one global batch"):
        train(tiny_cfg(sprite_dataset, tmp_path / "x", batch_size=1000))
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "results.txt").write_text("mine")
    with pytest.raises(TrainingError, match="--resume"):
        train(tiny_cfg(sprite_dataset, tmp_path / "used"))
    assert (tmp_path / "used" / "results.txt").read_text() == "mine"
    from genperc.training import resume_training

    with pytest.raises(TrainingError, match="only"):
        resume_training(tmp_path / "used", ["lr=1"])


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(sprite_dataset, tmp_path, monkeypatch):
    from genperc.models.autoencoder import SlotVAE

    real_loss = SlotVAE.loss
    calls = {"n": 0}

    def loss_that_explodes(self, images, out, beta, alpha):
        calls["n"] += 1
        terms = real_loss(self, images, out, beta, alpha)
        if calls["n"] > 15:
            terms.total = terms.total * float("nan")
        return terms

    monkeypatch.setattr(SlotVAE, "loss", loss_that_explodes)
    run = tmp_path / "r"
    with pytest.raises(TrainingError, match=r"non-finite loss at step 15.*last good checkpoint \(step 10\)"):
        train(tiny_cfg(sprite_dataset, run))
    assert [s for s, _ in ckpt.list_checkpoints(run)] == [10]
    assert torch.isfinite(torch.cat([v.flatten().float() for v in ckpt.load(ckpt.latest(run))["model"].values()])).all()


def test_ddp_on_two_cpu_processes(sprite_dataset, tmp_path):
    run = tmp_path / "ddp"
    r = subprocess.run(cli("train", "--preset", "tiny", f"data={sprite_dataset}", f"out={run}", "--devices", "2",
                           "--accelerator", "cpu", "max_steps=10", "progress=false", "threads=1"),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "on 2 process(es)" in r.stdout and r.stdout.count("trained ") == 1  # rank 0 reports once
    assert json.loads((run / "summary.json").read_text())["world_size"] == 2
    assert ckpt.load(ckpt.latest(run))["step"] == 10
