import base64
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from matplotlib.image import imread

from genperc.report import Cost, IdOod, Meta, MethodRun, Results, plot_accuracy, render_report, write_report

CONFIG = "data:\n  split: background\ntrain:\n  lr: 0.0005  # <tuned on ID>\n"


@pytest.fixture
def results():
    runs = [MethodRun(s, m, {"object.category": 0.98, "background.category": 1.0, "joint": 0.97},
                      {"object.category": ood, "background.category": 0.9, "joint": ood - 0.05},
                      recon_mse=IdOod(0.002, 0.005), cost=Cost(60.0, 0.002, 100.0 if "search" in m else None))
            for s in (0, 1) for m, ood in (("supervised", 0.3), ("encoder", 0.25), ("replay", 0.7), ("replay+search", 0.85))]
    meta = Meta.current(
        dataset="data/background",
        concept_values={"object.category": ["cube", "sphere", "torus"], "background.category": ["forest", "desert"]},
        heldout_concepts=["object.category", "background.category"],
        heldout=[["cube", "desert"], ["torus", "forest"]],
        hyperparameters={"search": {"steps": 100, "lr": 0.05}},
    )
    return Results("background", "quick", [0, 1], runs, "b" * 64, 95.0, meta)


@pytest.fixture
def report(results, tmp_path):
    figures = {"accuracy": plot_accuracy(results, tmp_path / "accuracy.png")}
    return write_report(results, figures, tmp_path / "report.html", CONFIG, notes="Sample <run>.")


class Resources(HTMLParser):
    """Every attribute that makes a browser fetch something, and the tags used."""

    def __init__(self):
        super().__init__()
        self.urls, self.tags = [], set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.urls += [v for k, v in attrs if k in ("src", "href", "srcset", "data", "poster") and v]


def test_self_contained(report):
    text = report.read_text(encoding="utf-8")
    parser = Resources()
    parser.feed(text)
    assert parser.urls, "the figures should be embedded"
    assert all(u.startswith("data:image/png;base64,") for u in parser.urls)
    for u in parser.urls:
        assert base64.b64decode(u.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", text)
    assert "url(" not in text and "@import" not in text
    assert {"script", "link", "iframe"}.isdisjoint(parser.tags)


def test_contents(report, results):
    text = report.read_text(encoding="utf-8")
    assert "<title>genperc — background split, preset quick</title>" in text
    assert "seeds 0, 1 (n = 2) · wall time 1 min 35 s" in text
    assert "Claim tested." in text
    assert "<strong>80.0 ± 0.0</strong>" in text  # best OOD joint accuracy, bold
    assert "Sample &lt;run&gt;." in text  # notes are escaped
    assert "lr: 0.0005  # &lt;tuned on ID&gt;" in text  # the config, escaped, in a details block
    assert text.count('<td class="ood">OOD</td>') == 2 and text.count('<td class="id">ID</td>') == 4
    assert results.config_sha256 in text and "Extra metrics and costs" in text
    for method in results.methods:
        assert f"<strong>{method}</strong>" in text  # each method is described in the protocol


def test_refuses_non_png_figures(results, tmp_path):
    fake = tmp_path / "plot.svg"
    fake.write_text("<svg/>")
    with pytest.raises(ValueError, match="not a PNG"):
        render_report(results, {"accuracy": fake})


def chromium() -> str | None:
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium")


def test_renders_in_headless_chromium(report, tmp_path):
    browser = chromium()
    if browser is None:
        pytest.skip("Chromium not found; install it (apt-get install -y chromium) to run the browser test")
    shot = tmp_path / "shot.png"
    cmd = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1200,2000",
        report.resolve().as_uri(),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert shot.exists(), f"no screenshot (exit {done.returncode}): {done.stderr[-2000:]}"
    image = imread(shot)[..., :3]
    assert image.shape[:2] == (2000, 1200)
    assert image.std() > 0.05  # text, tables and the figure, not an empty page
    top = image[:300]
    assert (top.mean(axis=-1) < 0.3).mean() > 0.005  # dark pixels of the title and header are drawn
