import pytest

from genperc.report import Cost, IdOod, MethodRun, Results, accuracy_table, results_markdown, results_text, write_markdown
from genperc.report.tables import duration, extras_table, headline, scaled
from genperc.report.summary import Stat

SHA = "f" * 64


def make(seeds=(0, 1, 2), extras=True):
    """encoder: ID joint 0.938 / 0.950 / 0.962 → 95.0 ± 1.2; replay+search OOD joint 0.80 / 0.82 / 0.84
    → 82.0 ± 2.0; supervised: OOD joint 0.25 → 25.0."""
    id_joint = {0: 0.938, 1: 0.950, 2: 0.962}
    ood_joint = {0: 0.80, 1: 0.82, 2: 0.84}
    runs = []
    for s in seeds:
        for method, ood in (("replay+search", ood_joint[s]), ("supervised", 0.25), ("encoder", 0.30)):
            extra = {"recon_mse": IdOod(0.002, 0.004), "cost": Cost(120.0, 0.0005, 200.0)} if extras and method != "supervised" else {}
            runs.append(MethodRun(s, method, {"object.category": 1.0, "joint": id_joint[s]},
                                  {"object.category": ood + 0.1, "joint": ood}, **extra))
    return Results("background", "quick", list(seeds), runs, SHA, 3725.0)


def test_markdown_numbers_and_order():
    md = results_markdown(make())
    lines = md.splitlines()
    assert lines[0] == "# genperc results: split background, preset quick, seeds 0, 1, 2 (n = 3), wall time 1 h 02 min"
    rows = [line for line in lines if line.startswith("| ") and "---" not in line]
    assert rows[0] == ("| method | n | object.category ID | object.category OOD | joint ID | joint OOD |")
    assert [r.split(" | ")[0][2:] for r in rows[1:4]] == ["supervised", "encoder", "replay+search"]
    encoder = rows[2].split(" | ")
    assert encoder[1] == "3" and encoder[4] == "95.0 ± 1.2"
    assert "**82.0 ± 2.0**" in rows[3]  # the best OOD joint accuracy is emphasised
    assert "25.0 ± 0.0" in rows[1]
    assert "ddof = 1" in md


def test_single_seed_shows_zero_std():
    md = results_markdown(make(seeds=(1,)))
    assert "(n = 1)" in md and "95.0 ± 0.0" in md and "82.0 ± 0.0" in md


def test_extras_table_only_with_extras():
    assert "Extra metrics" not in results_markdown(make(extras=False))
    table = extras_table(make())
    md = table.to_markdown()
    assert "recon MSE ×10⁻³ ID" in md and "FG-ARI" not in md  # columns nobody measured are left out
    encoder = next(line for line in md.splitlines() if line.startswith("| encoder"))
    assert encoder == "| encoder | 2.00 ± 0.00 | 4.00 ± 0.00 | 120 ± 0 | 0.500 ± 0.000 | 200 ± 0 |"
    assert "| supervised | — | — | — | — | — |" in md


def test_text_version_is_aligned():
    text = results_text(make())
    table = text.split("\n\n")[1].splitlines()
    assert table[0].split() == ["object.category", "joint"]  # the group heading line
    assert len({len(line) for line in table[2:]}) == 1  # rule and rows have one width
    assert "95.0 ± 1.2" in text and "**" not in text


def test_html_table_groups_and_escapes():
    h = accuracy_table(make()).to_html()
    assert '<th colspan="2" class="group">object.category</th>' in h
    assert "<strong>82.0 ± 2.0</strong>" in h
    assert h.count("<tr>") == 2 + 3


def test_headline_compares_best_of_each_kind():
    line = headline(make())
    assert line.startswith("OOD joint accuracy: best generative method replay+search 82.0 ± 2.0 %")
    assert "best non-generative encoder 30.0 ± 0.0 %" in line and "+52.0 percentage points" in line
    only_encoder = Results("background", "quick", [0], [r for r in make().runs if r.method == "encoder" and r.seed == 0], SHA, 1)
    assert headline(only_encoder) is None


@pytest.mark.parametrize("seconds, text", [(0.5, "0.50 s"), (42, "42 s"), (754.2, "12 min 34 s"), (7500, "2 h 05 min")])
def test_duration(seconds, text):
    assert duration(seconds) == text


@pytest.mark.parametrize("mean, text", [(2.8234, "2.82 ± 0.10"), (126.4, "126 ± 0"), (0.03123, "0.0312 ± 0.1000"), (0.0, "0.00 ± 0.10")])
def test_scaled_keeps_three_significant_digits(mean, text):
    assert scaled(Stat(mean, 0.1 if mean < 100 else 0.2, 2)) == text


def test_write_markdown(tmp_path):
    path = write_markdown(make(), tmp_path / "results.md")
    assert path.read_text() == results_markdown(make())
