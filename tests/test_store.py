"""The dataset store: round trip, resume after a kill, sharing by shard groups, corruption, overwrite."""

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from genperc.data.config import DataConfig
from genperc.data.dataset import Batch, Record, SlotDataset, collate
from genperc.data.generate import DataConfigError, DatasetExistsError, generate
from genperc.data.splits import NO_SLOT
from genperc.data.store import DatasetError, verify
from genperc.data.supports import SupportConfig, make_support


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def small(**kw) -> DataConfig:
    base = dict(renderer="sprites", split="background", res=16, n_train=90, n_val=10, n_test=30, shard_size=25)
    base.update(kw)
    return DataConfig(**base)


def test_round_trip_records_and_support(sprite_dataset):
    train, ood = SlotDataset(sprite_dataset, "train"), SlotDataset(sprite_dataset, "test_ood")
    assert len(train) == 96 and len(ood) == 32 and len(SlotDataset(sprite_dataset, "val")) == 16
    r = train[5]
    assert isinstance(r, Record) and r.image.shape == (3, 16, 16) and r.image.dtype.is_floating_point
    assert 0 <= r.image.min() and r.image.max() <= 1 and r.labels.shape == (2,)
    b = train.batch([3, 60, 0, 41])  # crosses shards, unsorted
    assert isinstance(b, Batch) and b.images.shape == (4, 3, 16, 16)
    assert b.index.tolist() == [3, 60, 0, 41]
    for j, i in enumerate([3, 60, 0, 41]):
        assert np.array_equal(b.images[j].numpy(), train[i].image.numpy())
    assert collate([train[3], train[60]]).images.shape == (2, 3, 16, 16)
    # stored unit coordinates: ID splits inside the support, test_ood outside, labels agree
    info = train.info
    support = make_support(info.space, SupportConfig(**info.manifest["config"]["support"]), "heldout")
    assert support.contains(train.array("unit")).all() and not support.contains(ood.array("unit")).any()
    assert np.array_equal(info.space.labels(train.array("latents").astype(np.float64)), train.array("labels"))
    heldout = {tuple(c) for c in info.manifest["support"]["heldout"]}
    names = {tuple(c.values[v] for c, v in zip(info.concepts, row)) for row in ood.array("labels")}
    assert names <= heldout
    # masks: background slot 1 owns most pixels, the object slot 0 some, nothing else
    masks = train.array("masks")
    assert set(np.unique(masks)) == {0, 1} and (masks == 0).mean() > 0.05


def test_torch_dataloader_uses_the_dataset(sprite_dataset):
    import torch

    loader = torch.utils.data.DataLoader(SlotDataset(sprite_dataset, "train"), batch_size=8, collate_fn=collate)
    batch = next(iter(loader))
    assert batch.images.shape == (8, 3, 16, 16)


def test_seed_reproduces_and_differs(tmp_path):
    generate(small(), tmp_path / "a", progress=False)
    generate(small(), tmp_path / "b", progress=False)
    generate(small(seed=1), tmp_path / "c", progress=False)
    a, b, c = (tree_digest(tmp_path / x) for x in "abc")
    assert a == b
    assert a["train/shard-00000.images.npy"] != c["train/shard-00000.images.npy"]


def test_shard_groups_then_finalize_equal_single_run(tmp_path):
    generate(small(), tmp_path / "whole", progress=False)
    part = tmp_path / "parts"
    r0 = generate(small(), part, shard=(0, 2), progress=False)
    assert not r0.complete and not (part / "manifest.json").exists()
    r1 = generate(small(), part, shard=(1, 2), progress=False)
    assert r1.complete and r1.skipped_shards > 0
    assert tree_digest(part) == tree_digest(tmp_path / "whole")


def test_resume_after_kill_is_byte_identical(tmp_path):
    cfg = dict(n_train=4000, n_val=0, n_test=1000, res=48, shard_size=100)
    generate(small(**cfg), tmp_path / "whole", progress=False)
    out = tmp_path / "killed"
    code = ("import sys; from genperc.data.generate import generate; from genperc.data.config import DataConfig; "
            f"generate(DataConfig(renderer='sprites', split='background', **{cfg!r}), sys.argv[1], progress=False)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(out)])
    deadline = time.time() + 60
    while time.time() < deadline and len(list((out / ".generate").glob("train-*.json"))) < 3:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "manifest.json").exists(), "generation finished before it could be killed"
    result = generate(small(**cfg), out, progress=False)
    assert result.complete and result.skipped_shards >= 3
    assert tree_digest(out) == tree_digest(tmp_path / "whole")


def test_existing_dataset_is_never_overwritten_silently(tmp_path):
    generate(small(), tmp_path / "d", progress=False)
    before = tree_digest(tmp_path / "d")
    again = generate(small(), tmp_path / "d", progress=False)  # same config: reused as it is
    assert again.complete and again.rendered == 0 and tree_digest(tmp_path / "d") == before
    with pytest.raises(DatasetExistsError, match="--overwrite"):
        generate(small(seed=3), tmp_path / "d", progress=False)
    assert tree_digest(tmp_path / "d") == before
    generate(small(seed=3), tmp_path / "d", overwrite=True, progress=False)
    assert tree_digest(tmp_path / "d") != before


def test_foreign_directory_and_mismatched_partial_are_refused(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(DatasetExistsError, match="not a genperc dataset"):
        generate(small(), tmp_path / "mine", overwrite=True, progress=False)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    generate(small(), tmp_path / "p", shard=(0, 3), progress=False)
    with pytest.raises(DatasetExistsError, match="different config"):
        generate(small(seed=9), tmp_path / "p", progress=False)


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete"])
def test_corruption_is_detected_naming_the_file(tmp_path, damage):
    root = tmp_path / "d"
    generate(small(), root, progress=False)
    assert verify(root).ok
    victim = root / "train" / "shard-00001.images.npy"
    if damage == "truncate":
        victim.write_bytes(victim.read_bytes()[:-10])
    elif damage == "flip":
        data = bytearray(victim.read_bytes())
        data[-1] ^= 0xFF
        victim.write_bytes(bytes(data))
    else:
        victim.unlink()
    report = verify(root)
    assert not report.ok and any(str(victim) in p for p in report.problems)
    if damage != "flip":  # size-level damage is caught on opening, a flipped byte by the checksum
        with pytest.raises(DatasetError, match=str(victim)):
            SlotDataset(root, "train")
    with pytest.raises(DatasetError, match=str(victim)):
        SlotDataset(root, "train", verify=True)


def test_broken_manifest_and_unfinished_dataset(tmp_path):
    root = tmp_path / "d"
    generate(small(), root, shard=(0, 2), progress=False)
    with pytest.raises(DatasetError, match="unfinished"):
        SlotDataset(root)
    generate(small(), root, progress=False)
    (root / "manifest.json").write_text("{not json")
    with pytest.raises(DatasetError, match="not valid JSON"):
        SlotDataset(root)


def test_bad_config_fails_before_rendering(tmp_path):
    with pytest.raises(DataConfigError, match="'cube'"):
        generate(small(categories=["cube"]), tmp_path / "x", progress=False)
    with pytest.raises(DataConfigError, match="no OOD"):
        generate(small(support=SupportConfig(kind="full")), tmp_path / "x", progress=False)
    with pytest.raises(DataConfigError, match="'zebra'"):
        generate(small(support=SupportConfig(kind="heldout", heldout=[["zebra", "stripes"]])), tmp_path / "x",
                 progress=False)
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("split, n_slots, no_slot", [("texture", 2, False), ("object", 3, False),
                                                     ("diagonal", 2, True)])
def test_every_sprite_split_generates(tmp_path, split, n_slots, no_slot):
    root = tmp_path / split
    generate(small(split=split), root, progress=False)
    ds = SlotDataset(root, "test_ood")
    assert ds.info.n_slots == n_slots and len(ds) == 30
    masks = ds.array("masks")
    assert (NO_SLOT in np.unique(masks)) == no_slot
    if split == "object":  # left and right objects never touch
        for m in masks:
            left, right = np.nonzero(m == 0)[1], np.nonzero(m == 1)[1]
            assert left.max() < right.min()
