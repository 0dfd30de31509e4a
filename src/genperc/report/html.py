"""report.html: one self-contained page per run (figures as base64 PNG data URIs, inline CSS, no
scripts, no external requests), readable offline in any browser."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Mapping

import yaml

from genperc.report.files import atomic_write_text
from genperc.report.meta import Meta
from genperc.report.results import Results
from genperc.report.runs import GENERATIVE
from genperc.report.tables import NOTE, accuracy_table, duration, extras_table, headline

CLAIM = (
    "Trained on in-distribution (ID) data alone, inverting a constrained decoder (search, replay, "
    "replay + search) recognises novel (OOD) combinations of known concepts far better than "
    "non-generative methods (encoder, supervised)."
)

# key of the figures dict → (title, caption saying what to look for); other keys are shown after
# these, titled by their key, without a caption
FIGURES: dict[str, tuple[str, str]] = {
    "accuracy": (
        "Accuracy per concept, ID vs OOD",
        "Bars: mean over seeds, error bars: std, dots: single seeds, dashed: chance. The claim holds if "
        "the hatched OOD bars of the shaded (decoder-inverting) methods stand clearly above those of the "
        "non-generative ones while every ID bar stays near 100 %.",
    ),
    "reconstructions": (
        "Reconstructions and slot masks",
        "ID images on the left, OOD on the right. A decoder that generalises compositionally reconstructs "
        "OOD images about as well as ID ones (compare the error rows, drawn on one colour scale) and "
        "keeps one object or the background per slot.",
    ),
    "search_loss": (
        "Search: reconstruction loss vs step",
        "Mean over images with a ± std band, log scale. A better initialisation (the replay encoder) "
        "starts lower and needs fewer steps; a curve that flattens high means search got stuck.",
    ),
    "replay_samples": (
        "Replay: decoded recombinations",
        "Slots taken from different ID images and decoded together: mostly combinations never seen in "
        "training. The replay encoder learns from these; they should look like plausible scenes.",
    ),
    "data_efficiency": (
        "Data efficiency",
        "Joint accuracy vs the number of ID training images (OOD solid with ± std band, ID dashed). "
        "The title's claim is that generative methods reach a given OOD accuracy with fewer images.",
    ),
}

METHOD_DESCRIPTIONS = {
    "supervised": "an encoder trained with cross-entropy on the ID concept labels; its heads predict the concepts.",
    "encoder": "the autoencoder's encoder applied to the image directly. Non-generative: it was trained to "
    "invert the decoder on ID images only.",
    "replay-augmentation": "control: a non-generative encoder trained on ID images plus decoded recombinations "
    "(the replay images) as data augmentation, used directly. It separates the benefit of inverting the decoder "
    "from that of merely seeing more varied images.",
    "replay": "an encoder trained to recover the slot latents of decoded recombinations (each slot from a "
    "different ID image), used directly.",
    "search": "gradient descent on the slot latents to minimise the reconstruction error, decoder frozen, "
    "starting from the autoencoder's encoder.",
    "replay+search": "the same search, starting from the replay encoder.",
}

CSS = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: #222; background: #fafaf8; margin: 0; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 32px 48px; background: #fff; }
h1 { font-size: 26px; margin: 8px 0 4px; }
h2 { font-size: 19px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid #e3e3e0; }
h3 { font-size: 16px; margin: 20px 0 6px; }
.sub { color: #666; margin: 0 0 16px; }
.claim { background: #f4f7fb; border-left: 4px solid #5b8bc0; padding: 10px 14px; margin: 12px 0; }
.headline { background: #fbf4ef; border-left: 4px solid #d9622b; padding: 10px 14px; margin: 12px 0;
  font-weight: 600; }
.note, figcaption { color: #555; font-size: 13.5px; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13.5px; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e6e6e3; text-align: left; white-space: nowrap; }
th { background: #f3f3f0; font-weight: 600; }
th.group { text-align: center; border-bottom: 2px solid #d5d5d0; }
.num { text-align: right; }
tbody tr:nth-child(even) { background: #fafaf8; }
.scroll { overflow-x: auto; }
figure { margin: 18px 0 26px; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 8px 0; }
dt { font-weight: 600; }
dd { margin: 0; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px; word-break: break-all; }
pre { background: #f6f6f3; padding: 10px 12px; overflow-x: auto; font-size: 12.5px; }
details summary { cursor: pointer; font-weight: 600; margin: 8px 0; }
.heldout td.ood { background: #f6d7c6; color: #8a3510; text-align: center; }
.heldout td.id { background: #e3edf7; color: #2f5a86; text-align: center; }
"""


def _png_data_uri(path: Path) -> str:
    data = Path(path).read_bytes()
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError(f"{path} is not a PNG file; the report embeds PNG figures only")
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _figures(figures: Mapping[str, Path]) -> str:
    ordered = [k for k in FIGURES if k in figures] + [k for k in figures if k not in FIGURES]
    parts = []
    for key in ordered:
        title, caption = FIGURES.get(key, (key.replace("_", " "), ""))
        parts.append(
            f'<figure><h3>{html.escape(title)}</h3><img src="{_png_data_uri(figures[key])}" '
            f'alt="{html.escape(title)}">' + (f"<figcaption>{html.escape(caption)}</figcaption>" if caption else "")
            + "</figure>"
        )
    return "\n".join(parts)


def _heldout(meta: Meta) -> str:
    """Two concepts: a grid of their values marking each combination ID or OOD; otherwise a list."""
    concepts, held = meta.heldout_concepts, meta.heldout
    if not held:
        return '<p class="note">Not recorded for this run.</p>'
    values = [meta.concept_values.get(c) for c in concepts]
    intro = f"<p>{len(held)} combination{'s' if len(held) != 1 else ''} of "
    intro += ", ".join(f"<code>{html.escape(c)}</code>" for c in concepts)
    if len(concepts) == 2 and all(values):
        rows_v, cols_v = values
        held_set = {tuple(h) for h in held}
        intro += f" held out of {len(rows_v) * len(cols_v)}; OOD images show only these.</p>"
        head = f"<tr><th>{html.escape(concepts[0])} ↓ &nbsp; {html.escape(concepts[1])} →</th>" + "".join(
            f"<th>{html.escape(v)}</th>" for v in cols_v) + "</tr>"
        body = "".join(
            f"<tr><th>{html.escape(r)}</th>" + "".join(
                '<td class="ood">OOD</td>' if (r, c) in held_set else '<td class="id">ID</td>' for c in cols_v
            ) + "</tr>"
            for r in rows_v
        )
        return intro + f'<div class="scroll"><table class="heldout"><thead>{head}</thead><tbody>{body}</tbody></table></div>'
    intro += " held out; OOD images show only these.</p>"
    head = "<tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in concepts) + "</tr>"
    body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in h) + "</tr>" for h in held)
    return intro + f"<table><thead>{head}</thead><tbody>{body}</tbody></table>"


def _protocol(results: Results) -> str:
    methods = "".join(
        f"<li><strong>{html.escape(m)}</strong>{' (inverts the decoder)' if m in GENERATIVE else ''}: "
        f"{html.escape(METHOD_DESCRIPTIONS[m])}</li>"
        for m in results.methods
    )
    return (
        "<ul>"
        "<li>Every model is trained on ID images only; OOD images hold only combinations of concept values "
        "never seen in training (below).</li>"
        "<li>A readout (a classifier per concept on one inferred slot) is fitted on ID training latents only "
        "and applied, frozen, to ID test and OOD latents of each method.</li>"
        "<li>The slot → concept assignment is decided on ID data only: on a held-out part of the ID training "
        "set, by the Hungarian algorithm on readout accuracy.</li>"
        "<li>Joint accuracy: the fraction of images with every concept right.</li>"
        "<li>Each method is trained and evaluated once per seed; tables show mean ± sample standard "
        "deviation over seeds (ddof = 1; ± 0.0 with one seed).</li>"
        "</ul>"
        f"<h3>Methods</h3><ul>{methods}</ul>"
    )


def _provenance(results: Results, config_yaml: str) -> str:
    meta = results.meta
    items = [
        ("genperc", meta.genperc_version),
        ("git commit", meta.git_commit or "unknown"),
        ("config sha256", results.config_sha256),
        ("created", meta.created or "unknown"),
        ("device", meta.device or "unknown"),
        ("dataset", meta.dataset or "unknown"),
        ("versions", ", ".join(f"{k} {v}" for k, v in meta.versions.items()) or "unknown"),
    ]
    out = "<dl>" + "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in items) + "</dl>"
    if meta.hyperparameters:
        text = yaml.safe_dump(meta.hyperparameters, sort_keys=False, allow_unicode=True)
        out += f"<details><summary>Hyper-parameters</summary><pre>{html.escape(text)}</pre></details>"
    if config_yaml:
        out += f"<details><summary>Resolved config (YAML)</summary><pre>{html.escape(config_yaml)}</pre></details>"
    return out


def render_report(results: Results, figures: Mapping[str, Path], config_yaml: str = "", notes: str = "") -> str:
    """The report page as a string; ``figures`` maps a key (``FIGURES`` lists the known ones) to a
    PNG file, ``config_yaml`` is the resolved config, ``notes`` free text shown near the top."""
    seeds = ", ".join(map(str, results.seeds))
    title = f"genperc — {results.split} split, preset {results.preset}"
    line = headline(results)
    extras = extras_table(results)
    sections = [
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="sub">seeds {html.escape(seeds)} (n = {len(results.seeds)}) · wall time '
        f"{html.escape(duration(results.wall_s))}" + (f" · {html.escape(results.meta.created)}" if results.meta.created else "") + "</p>",
        f'<p class="claim"><strong>Claim tested.</strong> {html.escape(CLAIM)}</p>',
        "".join(f"<p>{html.escape(p)}</p>" for p in notes.split("\n\n") if p.strip()),
        "<h2>Results</h2>",
        f'<p class="headline">{html.escape(line)}</p>' if line else "",
        f'<div class="scroll">{accuracy_table(results).to_html()}</div>',
        f'<p class="note">{html.escape(NOTE)} Bold: the best OOD mean per column.</p>',
        "<h2>Figures</h2>" + _figures(figures) if figures else "",
        "<h2>Extra metrics and costs</h2>" + (
            f'<div class="scroll">{extras.to_html()}</div><p class="note">Mean ± sample std over the seeds that '
            "measured each metric. Reconstruction MSE: mean over pixels and channels of images in [0, 1]; "
            "identifiability: readout score relative to the ground-truth ceiling; inference time per image "
            "includes the search for the search methods.</p>"
            if extras is not None else '<p class="note">None were measured in this run.</p>'
        ),
        "<h2>Protocol</h2>" + _protocol(results),
        "<h2>Held-out combinations</h2>" + _heldout(results.meta),
        "<h2>Provenance</h2>" + _provenance(results, config_yaml),
    ]
    body = "\n".join(s for s in sections if s)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def write_report(
    results: Results,
    figures: Mapping[str, Path],
    out_path: str | Path,
    config_yaml: str = "",
    notes: str = "",
) -> Path:
    """Write report.html atomically (see ``render_report``)."""
    return atomic_write_text(out_path, render_report(results, figures, config_yaml, notes))
