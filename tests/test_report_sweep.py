import copy

import numpy as np
import pytest
from matplotlib.image import imread

from genperc.report import (
    MethodRun,
    Results,
    ResultsError,
    SweepResults,
    load_sweep,
    plot_data_efficiency,
    sweep_markdown,
    validate_sweep,
    write_sweep,
    write_sweep_markdown,
)

SHA = "a" * 64


def make_sweep():
    points = {}
    for n, ood in ((2000, 0.6), (500, 0.2), (1000, 0.4)):  # out of order on purpose
        runs = [MethodRun(s, m, {"object.category": 1.0, "joint": 0.99},
                          {"object.category": 1.0, "joint": ood * gain + 0.02 * s})
                for s in (0, 1) for m, gain in (("encoder", 0.5), ("replay+search", 1.0))]
        points[n] = Results("background", "quick", [0, 1], runs, SHA, 10.0)
    return SweepResults("background", "quick", [0, 1], points, 30.0)


def test_sizes_are_sorted_and_stats_read_per_size():
    sweep = make_sweep()
    assert sweep.sizes == (500, 1000, 2000)
    assert sweep.methods == ("encoder", "replay+search")
    stats = sweep.joint("replay+search")
    assert [s.mean for s in stats] == pytest.approx([0.21, 0.41, 0.61])
    assert stats[0].std == pytest.approx(np.std([0.2, 0.22], ddof=1))


def test_json_round_trip(tmp_path):
    sweep = make_sweep()
    path = write_sweep(sweep, tmp_path / "sweep.json")
    assert load_sweep(path) == sweep


def test_validate_names_the_path():
    obj = make_sweep().to_json()
    bad = copy.deepcopy(obj)
    bad["points"][1]["results"]["summary"]["encoder"]["ood"]["joint"]["mean"] = "high"
    with pytest.raises(ResultsError) as e:
        validate_sweep(bad)
    assert e.value.path == "points[1].results.summary.encoder.ood.joint.mean"
    bad = copy.deepcopy(obj)
    bad["points"].reverse()
    with pytest.raises(ResultsError, match=r"points\[1\]\.n_train: sizes must be listed in ascending order"):
        validate_sweep(bad)
    bad = copy.deepcopy(obj)
    bad["points"][0]["results"]["split"] = "texture"
    with pytest.raises(ResultsError, match=r"points\[0\]\.results\.split: 'texture' differs"):
        validate_sweep(bad)


def test_markdown_table(tmp_path):
    md = sweep_markdown(make_sweep())
    assert write_sweep_markdown(make_sweep(), tmp_path / "sweep.md").read_text() == md
    assert "| method | ID training images 500 | ID training images 1,000 | ID training images 2,000 |" in md
    row = next(line for line in md.splitlines() if line.startswith("| replay+search"))
    assert row == "| replay+search | **21.0 ± 1.4** | **41.0 ± 1.4** | **61.0 ± 1.4** |"


def test_plot(tmp_path):
    path = plot_data_efficiency(make_sweep(), tmp_path / "data_efficiency.png")
    image = imread(path)
    assert min(image.shape[:2]) > 200 and image[..., :3].std() > 0.02
