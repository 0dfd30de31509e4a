import copy
import json
import os

import numpy as np
import pytest

from genperc.report import (
    Cost,
    IdOod,
    Meta,
    MethodRun,
    Results,
    ResultsError,
    load_results,
    summarize,
    summarize_extra,
    validate_results,
    write_results,
)

SHA = "0123456789abcdef" * 4
CONCEPTS = ("object.category", "background.category")


def run(seed, method, id_values, ood_values, **extra):
    """A run with the given (concept..., joint) accuracies."""
    keys = (*CONCEPTS, "joint")
    return MethodRun(seed, method, dict(zip(keys, id_values)), dict(zip(keys, ood_values)), **extra)


@pytest.fixture
def results():
    rng = np.random.default_rng(0)
    runs = []
    for seed in (0, 1, 2):
        for method in ("encoder", "search", "supervised"):  # not METHODS order on purpose
            runs.append(run(seed, method, rng.uniform(0.8, 1, 3), rng.uniform(0, 1, 3),
                            recon_mse=IdOod(0.01 * rng.random(), 0.02 * rng.random()) if method != "supervised" else None,
                            cost=Cost(10 * rng.random(), 0.01, 100.0 if method == "search" else None)))
    meta = Meta(concept_values={"object.category": ["a", "b"], "background.category": ["x", "y"]},
                heldout_concepts=list(CONCEPTS), heldout=[["a", "y"]], hyperparameters={"search": {"steps": 100}})
    return Results("background", "quick", [0, 1, 2], runs, SHA, 12.5, meta)


def test_summarize_matches_numpy(results):
    summary = summarize(results.runs)
    assert list(summary) == ["supervised", "encoder", "search"]  # the fixed method order
    for method, s in summary.items():
        runs = [r for r in results.runs if r.method == method]
        assert s.n == 3
        for split in ("id", "ood"):
            for key in (*CONCEPTS, "joint"):
                values = np.array([getattr(r, split)[key] for r in runs])
                stat = getattr(s, split)[key]
                assert stat.mean == pytest.approx(values.mean())
                assert stat.std == pytest.approx(values.std(ddof=1))


def test_one_seed_has_zero_std():
    s = summarize([run(7, "encoder", (0.9, 0.8, 0.7), (0.5, 0.4, 0.3))])
    assert s["encoder"].n == 1
    assert s["encoder"].ood["joint"].mean == pytest.approx(0.3)
    assert s["encoder"].ood["joint"].std == 0.0


def test_methods_missing_on_a_split():
    """The texture split has no replay: absent methods are absent, not zero."""
    runs = [run(s, m, (1, 1, 1), (0.5, 0.5, 0.25)) for s in (0, 1) for m in ("encoder", "search")]
    results = Results("texture", "quick", [0, 1], runs, SHA, 1.0)
    assert results.methods == ("encoder", "search")
    assert "replay" not in results.to_json()["summary"]
    validate_results(results.to_json())


def test_extra_summary_over_the_seeds_that_measured_it():
    runs = [run(0, "search", (1, 1, 1), (1, 1, 1), cost=Cost(1.0, 0.1, 50.0)),
            run(1, "search", (1, 1, 1), (1, 1, 1), cost=Cost(3.0, 0.3, None)),
            run(2, "search", (1, 1, 1), (1, 1, 1))]
    e = summarize_extra(runs)["search"]
    assert (e.train_s.mean, e.train_s.n) == (pytest.approx(2.0), 2)
    assert e.train_s.std == pytest.approx(np.std([1.0, 3.0], ddof=1))
    assert (e.search_steps.mean, e.search_steps.std, e.search_steps.n) == (50.0, 0.0, 1)
    assert e.recon_mse is None


def test_json_round_trip(results, tmp_path):
    path = write_results(results, tmp_path / "out" / "results.json")
    text = path.read_text()
    assert "NaN" not in text
    back = load_results(path)
    assert back == results
    assert back.summary == results.summary
    assert json.loads(text)["summary"]["search"]["ood"]["joint"]["mean"] == pytest.approx(
        results.summary["search"].ood["joint"].mean)
    assert [p.name for p in path.parent.iterdir()] == ["results.json"]  # no temporary file left


def test_failed_write_keeps_the_old_file(results, tmp_path, monkeypatch):
    path = write_results(results, tmp_path / "results.json")
    before = path.read_text()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_results(Results("background", "quick", [0], [], SHA, 1.0), path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_top_level_keys_are_exactly_the_documented_ones(results):
    obj = results.to_json()
    assert set(obj) == {"split", "preset", "seeds", "summary", "runs", "config_sha256", "wall_s", "summary_extra", "meta"}
    assert set(obj["runs"][0]) == {"seed", "method", "id", "ood", "recon_mse", "fg_ari", "identifiability", "cost"}
    assert set(obj["summary"]["encoder"]) == {"id", "ood"}
    assert set(obj["summary"]["encoder"]["ood"]["joint"]) == {"mean", "std"}


def broken(obj, edit):
    obj = copy.deepcopy(obj)
    edit(obj)
    return obj


@pytest.mark.parametrize(
    "edit, path, message",
    [
        (lambda o: o.pop("summary"), "summary", "missing"),
        (lambda o: o["summary"]["encoder"]["ood"]["joint"].update(mean="0.5"), "summary.encoder.ood.joint.mean", "expected a number"),
        (lambda o: o["summary"].update(autoencoder=o["summary"]["encoder"]), "summary.autoencoder", "unknown method 'autoencoder'"),
        (lambda o: o["runs"][4].update(method="vae"), "runs[4].method", "unknown method 'vae'"),
        (lambda o: o.update(seeds="0,1,2"), "seeds", "expected a list"),
        (lambda o: o["seeds"].__setitem__(1, 1.0), "seeds[1]", "expected an integer"),
        (lambda o: o["runs"][2]["ood"].update({"object.category": 1.5}), 'runs[2].ood["object.category"]', "outside [0.0, 1.0]"),
        (lambda o: o["runs"][0]["id"].pop("joint"), "runs[0].id.joint", "missing"),
        (lambda o: o["runs"][0].update(fgari=None), "runs[0].fgari", "unexpected key"),
        (lambda o: o["summary"]["search"]["id"]["joint"].update(mean=0.0), "summary.search.id.joint.mean", "disagrees"),
        (lambda o: o["runs"][1].update(seed=9), "runs[1].seed", "not one of seeds"),
        (lambda o: o.update(config_sha256="abc"), "config_sha256", "64 lowercase hex"),
        (lambda o: o["meta"].update(heldout=[["a", 2]]), "meta.heldout[0][1]", "expected a string"),
    ],
)
def test_validate_rejects_with_key_path(results, edit, path, message):
    obj = broken(results.to_json(), edit)
    with pytest.raises(ResultsError) as e:
        validate_results(obj)
    assert e.value.path == path
    assert str(e.value).startswith(f"{path}: ") and message in str(e.value)
    assert isinstance(e.value, ValueError)


def test_validate_accepts_good_and_minimal_objects(results):
    obj = results.to_json()
    validate_results(json.loads(json.dumps(obj)))
    minimal = {k: obj[k] for k in ("split", "preset", "seeds", "summary", "runs", "config_sha256", "wall_s")}
    for r in minimal["runs"]:  # optional run metrics may be left out
        for k in ("recon_mse", "fg_ari", "identifiability", "cost"):
            r.pop(k)
    validate_results(minimal)


def test_load_names_the_file(tmp_path):
    path = tmp_path / "results.json"
    path.write_text("{not json")
    with pytest.raises(ResultsError, match="results.json is not JSON"):
        load_results(path)


def test_duplicate_and_inconsistent_runs_are_refused():
    a = run(0, "encoder", (1, 1, 1), (1, 1, 1))
    with pytest.raises(ResultsError, match=r"runs\[1\]: a second run of encoder with seed 0"):
        Results("background", "quick", [0], [a, a], SHA, 1.0)
    other = MethodRun(1, "encoder", {"object.category": 1.0, "joint": 1.0}, {"object.category": 1.0, "joint": 1.0})
    with pytest.raises(ResultsError, match=r"runs\[1\]\.id: concepts"):
        Results("background", "quick", [0, 1], [a, other], SHA, 1.0)


def test_from_scores_reads_readout_scores():
    from genperc.eval import ReadoutScores

    id_scores = ReadoutScores({"object.category": 0.99, "background.category": 1.0}, joint=0.99, n=10)
    ood_scores = ReadoutScores({"object.category": 0.4, "background.category": 0.9}, joint=0.35, n=10)
    r = MethodRun.from_scores(3, "replay", id_scores, ood_scores, cost=Cost(1.0, 0.001))
    assert r.ood == {"object.category": 0.4, "background.category": 0.9, "joint": 0.35}
    assert r.concepts == CONCEPTS


def test_meta_current_records_versions():
    meta = Meta.current(device="cpu")
    assert meta.device == "cpu" and "python" in meta.versions and "numpy" in meta.versions
    assert meta.created is not None and meta.created.endswith("+00:00")
    assert Meta.from_json(json.loads(json.dumps(meta.to_json()))) == meta


def test_numpy_scalars_become_plain_numbers():
    r = MethodRun(np.int64(2), "encoder", {"object.category": np.float32(0.5), "joint": np.float64(0.25)},
                  {"object.category": np.float32(0.75), "joint": 0.5}, cost=Cost(np.float32(1.5), 0.01))
    assert type(r.seed) is int and type(r.id["object.category"]) is float and type(r.cost.train_s) is float
    results = Results("background", "quick", [np.int64(2)], [r], SHA, np.float32(3.0))
    validate_results(json.loads(json.dumps(results.to_json())))
    with pytest.raises(ResultsError, match="joint: expected a number, got bool"):
        MethodRun(0, "encoder", {"joint": True}, {"joint": 0.5})
