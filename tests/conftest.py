import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def one_thread():
    """Tests run torch on one thread: on a 2-core machine where another job holds a core, two
    threads can be tens of times slower than one (they wait for each other)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def sprite_dataset(tmp_path_factory):
    """A small sprites background-split dataset shared by tests that only read it."""
    from genperc.data.config import DataConfig
    from genperc.data.generate import generate

    root = tmp_path_factory.mktemp("data") / "sprites_bg"
    cfg = DataConfig(renderer="sprites", split="background", res=16, n_train=96, n_val=16, n_test=32, shard_size=40)
    generate(cfg, root, progress=False)
    return root
