import os

import pytest

# the test machine has 2 cores; keep torch from oversubscribing them when tests run in parallel
os.environ.setdefault("OMP_NUM_THREADS", "2")


@pytest.fixture(scope="session")
def sprite_dataset(tmp_path_factory):
    """A small sprites background-split dataset shared by tests that only read it."""
    from genperc.data.config import DataConfig
    from genperc.data.generate import generate

    root = tmp_path_factory.mktemp("data") / "sprites_bg"
    cfg = DataConfig(renderer="sprites", split="background", res=16, n_train=96, n_val=16, n_test=32, shard_size=40)
    generate(cfg, root, progress=False)
    return root
