"""``genperc reproduce`` end to end on the tiny preset: shape of results.json, the report, resume
(finished stages skipped, damaged outputs redone), refusal of a changed config, the texture rule,
and the data-efficiency sweep."""

import json
import subprocess
import sys

import pytest

from genperc.experiment import ReproduceError, reproduce, sweep_data
from genperc.report import load_results, validate_results


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("rep") / "bg"
    outcomes = reproduce("tiny", None, [], "background", [0, 1], out, progress=False)
    return out, outcomes[0]


def test_results_json_has_the_documented_shape(tiny_run):
    out, outcome = tiny_run
    obj = json.loads((out / "results.json").read_text())
    validate_results(obj)
    assert obj["split"] == "background" and obj["preset"] == "tiny" and obj["seeds"] == [0, 1]
    assert set(obj["summary"]) == {"supervised", "encoder", "replay", "search", "replay+search",
                                   "replay-augmentation"}
    for method, s in obj["summary"].items():
        assert set(s["id"]) == set(s["ood"]) == {"object.category", "background.category", "joint"}
        assert all(set(v) == {"mean", "std"} for v in s["ood"].values())
    assert len(obj["runs"]) == 12 and len(obj["config_sha256"]) == 64 and obj["wall_s"] > 0
    search = next(r for r in obj["runs"] if r["method"] == "search")
    assert search["cost"]["search_steps"] > 0 and search["recon_mse"]["ood"] > 0
    assert obj["meta"]["heldout"] and obj["meta"]["hyperparameters"]["train"]["max_steps"] == 20


def test_report_and_figures_are_written(tiny_run):
    out, outcome = tiny_run
    html = (out / "report.html").read_text()
    assert "<img" in html and "data:image/png;base64," in html and "replay+search" in html
    for name in ("accuracy", "reconstructions", "search_loss", "replay_samples"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 2000
    assert "| method |" in (out / "results.md").read_text()
    assert (out / "config.yaml").is_file()


def test_rerun_skips_finished_stages_and_redoes_damaged_ones(tiny_run, capsys):
    out, outcome = tiny_run
    before = load_results(out / "results.json")
    damaged = out / "seed_1" / "latents" / "search_test_ood.pt"
    damaged.write_bytes(damaged.read_bytes()[:-50])
    again = reproduce("tiny", None, [], "background", [0, 1], out, progress=False)[0]
    err = capsys.readouterr().err
    assert err.count("done before, skipped") >= 14
    assert "[background seed 1] search ..." in err  # redone: its output no longer matched its record
    assert "[background seed 0] search ..." not in err
    assert [r.to_json() for r in again.results.runs] == [r.to_json() for r in before.runs]


def test_a_changed_config_is_refused(tiny_run):
    out, _ = tiny_run
    with pytest.raises(ReproduceError, match="another config"):
        reproduce("tiny", None, ["train.max_steps=21"], "background", [0], out, progress=False)


def test_all_splits_and_the_texture_rule(tmp_path):
    outcomes = reproduce("tiny", None, ["methods=[encoder,search,replay]"], "all", [0], tmp_path, progress=False)
    assert [o.split for o in outcomes] == ["background", "texture", "object"]
    by_split = {o.split: o.results for o in outcomes}
    assert set(by_split["texture"].methods) == {"encoder", "search"}  # no replay on texture (as in the paper)
    assert set(by_split["object"].methods) == {"encoder", "search", "replay"}
    assert "left.category" in by_split["object"].concepts
    text = (tmp_path / "results.md").read_text()
    assert "## texture" in text and "## object" in text
    for split in ("background", "texture", "object"):
        validate_results(json.loads((tmp_path / split / "results.json").read_text()))


def test_sweep_over_training_set_sizes(tmp_path):
    sweep = sweep_data("tiny", None, ["methods=[encoder,search]"], "background", [48, 96], [0], tmp_path,
                       progress=False)
    assert sweep.sizes == (48, 96)
    assert (tmp_path / "sweep.json").is_file() and (tmp_path / "data_efficiency.png").stat().st_size > 2000
    assert "search" in (tmp_path / "sweep.md").read_text()


def test_cli_reproduce_errors(tmp_path):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "genperc.cli.main", "reproduce", *args], capture_output=True,
                              text=True)

    r = run("--out", str(tmp_path / "x"))
    assert r.returncode == 2 and "--preset" in r.stderr
    r = run("--preset", "tiny", "--seeds", "0", "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and "--seeds" in r.stderr
    r = run("--preset", "tiny", "--out", str(tmp_path / "x"), "methods=[encoder,magic]")
    assert r.returncode == 2 and "magic" in r.stderr
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "thesis.tex").write_text("mine")
    r = run("--preset", "tiny", "--out", str(tmp_path / "busy"))
    assert r.returncode == 2 and "not empty" in r.stderr
    assert (tmp_path / "busy" / "thesis.tex").read_text() == "mine"
