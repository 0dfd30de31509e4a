"""The 3D splits through the whole data pipeline (generation with worker processes, storage)."""

import numpy as np
import pytest

pytest.importorskip("mitsuba")

from genperc.data.config import DataConfig  # noqa: E402
from genperc.data.dataset import SlotDataset  # noqa: E402
from genperc.data.generate import DataConfigError, generate  # noqa: E402
from genperc.data.scenes3d import BACKGROUNDS, CATEGORIES, TEXTURES  # noqa: E402

pytestmark = pytest.mark.render3d


@pytest.mark.parametrize("split, n_slots, concepts", [
    ("background", 2, ["object.category", "background.category"]),
    ("texture", 2, ["object.category", "object.texture"]),
    ("object", 3, ["left.category", "right.category"]),
])
def test_3d_split_generates(tmp_path, split, n_slots, concepts):
    cfg = DataConfig(renderer="scenes3d", split=split, res=24, spp=2, n_train=12, n_val=0, n_test=6, shard_size=5,
                     workers=2)
    root = tmp_path / split
    result = generate(cfg, root, progress=False)
    assert result.complete and result.rendered == 24
    ds = SlotDataset(root, "test_ood", verify=True)
    assert ds.info.n_slots == n_slots and ds.info.concept_names == concepts
    masks, labels = ds.array("masks"), ds.array("labels")
    assert set(np.unique(masks)) <= set(range(n_slots))
    for k in ds.info.object_slots:  # every object is visible in every image
        assert ((masks == k).reshape(len(masks), -1).sum(1) > 0).all()
    if split == "object":
        for m in masks:
            assert np.nonzero(m == 0)[1].max() < np.nonzero(m == 1)[1].min()
    heldout = {tuple(c) for c in ds.info.manifest["support"]["heldout"]}
    names = {tuple(c.values[v] for c, v in zip(ds.info.concepts, row)) for row in labels}
    assert names <= heldout
    n_values = {"background": (len(CATEGORIES), len(BACKGROUNDS)), "texture": (len(CATEGORIES), len(TEXTURES)),
                "object": (len(CATEGORIES), len(CATEGORIES))}[split]
    assert len(ds.info.manifest["support"]["heldout"]) == round(0.35 * n_values[0] * n_values[1])


def test_subsets_and_parallel_equals_serial(tmp_path):
    kw = dict(renderer="scenes3d", split="background", res=16, spp=2, n_train=10, n_val=0, n_test=4, shard_size=4,
              categories=["cube", "sphere", "torus"], backgrounds=["studio", "grass"],
              support={"kind": "heldout", "heldout": [["cube", "grass"]]})
    from genperc import config

    a = config.from_dict(DataConfig, {**kw, "workers": 1})
    b = config.from_dict(DataConfig, {**kw, "workers": 2})
    generate(a, tmp_path / "a", progress=False)
    generate(b, tmp_path / "b", progress=False)
    for split in ("train", "test_ood"):
        assert np.array_equal(SlotDataset(tmp_path / "a", split).array("images"),
                              SlotDataset(tmp_path / "b", split).array("images"))
    ood = SlotDataset(tmp_path / "a", "test_ood").array("labels")
    assert (ood == [0, 1]).all()  # only the held-out (cube, grass)


def test_bad_variant_is_a_config_error(tmp_path):
    with pytest.raises(DataConfigError, match="variant"):
        generate(DataConfig(renderer="scenes3d", variant="nonsense_rgb", n_train=2, n_test=1), tmp_path / "x",
                 progress=False)
