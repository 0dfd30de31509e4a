"""The tables a person reads: accuracy per method and concept, extra metrics and costs.

Numbers are mean ± sample std over seeds (ddof = 1; ± 0.0 with one seed), accuracies as
percentages with one decimal (``95.0 ± 1.2``). A ``Table`` is built once and rendered as
markdown (results.md), aligned plain text (the terminal) or HTML (report.html).
"""

from __future__ import annotations

import html
import math
import textwrap
from dataclasses import dataclass
from pathlib import Path

from genperc.report.files import atomic_write_text
from genperc.report.results import Results
from genperc.report.runs import GENERATIVE, JOINT
from genperc.report.summary import Stat

MISSING = "—"


@dataclass(frozen=True)
class Column:
    label: str
    group: str = ""  # a heading over consecutive columns of the same group ("object.category")
    numeric: bool = True


@dataclass(frozen=True)
class Table:
    columns: tuple[Column, ...]
    rows: tuple[tuple[str, ...], ...]
    emphasis: frozenset[tuple[int, int]] = frozenset()  # (row, column) of cells shown bold

    def _headings(self) -> list[str]:
        return [f"{c.group} {c.label}".strip() for c in self.columns]

    def _groups(self) -> list[tuple[str, int]]:
        """(group, number of columns) runs, left to right."""
        spans: list[tuple[str, int]] = []
        for c in self.columns:
            if spans and spans[-1][0] == c.group:
                spans[-1] = (c.group, spans[-1][1] + 1)
            else:
                spans.append((c.group, 1))
        return spans

    def to_markdown(self) -> str:
        def line(cells: list[str]) -> str:
            return "| " + " | ".join(cells) + " |"

        body = [
            line([f"**{v}**" if (r, c) in self.emphasis else v for c, v in enumerate(row)])
            for r, row in enumerate(self.rows)
        ]
        rule = line(["---:" if c.numeric else ":---" for c in self.columns])
        return "\n".join([line(self._headings()), rule, *body])

    def to_text(self) -> str:
        """Aligned columns with the groups on a heading line of their own."""
        widths = [max([len(c.label), *(len(row[i]) for row in self.rows)]) for i, c in enumerate(self.columns)]
        start = 0
        for group, n in self._groups():  # widen a group's last column if its heading is longer
            span = sum(widths[start : start + n]) + 2 * (n - 1)
            widths[start + n - 1] += max(0, len(group) - span)
            start += n

        def line(cells: list[str]) -> str:
            return "  ".join(
                v.rjust(w) if c.numeric else v.ljust(w) for v, w, c in zip(cells, widths, self.columns)
            ).rstrip()

        lines = []
        if any(c.group for c in self.columns):
            parts, start = [], 0
            for group, n in self._groups():
                parts.append(group.center(sum(widths[start : start + n]) + 2 * (n - 1)))
                start += n
            lines.append("  ".join(parts).rstrip())
        lines.append(line([c.label for c in self.columns]))
        lines.append("  ".join("-" * w for w in widths))
        lines.extend(line(list(row)) for row in self.rows)
        return "\n".join(lines)

    def to_html(self) -> str:
        def cell(tag: str, text: str, numeric: bool, extra: str = "") -> str:
            cls = ' class="num"' if numeric else ""
            return f"<{tag}{cls}{extra}>{text}</{tag}>"

        head = []
        if any(c.group for c in self.columns):
            head.append("<tr>" + "".join(
                cell("th", html.escape(g), False, f' colspan="{n}"' + (' class="group"' if g else ""))
                for g, n in self._groups()
            ) + "</tr>")
        head.append("<tr>" + "".join(cell("th", html.escape(c.label), c.numeric) for c in self.columns) + "</tr>")
        body = []
        for r, row in enumerate(self.rows):
            cells = []
            for c, (v, col) in enumerate(zip(row, self.columns)):
                text = html.escape(v)
                cells.append(cell("td", f"<strong>{text}</strong>" if (r, c) in self.emphasis else text, col.numeric))
            body.append("<tr>" + "".join(cells) + "</tr>")
        return f"<table>\n<thead>{''.join(head)}</thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>"


def pct(stat: Stat | None) -> str:
    """An accuracy statistic as percentages with one decimal: ``95.0 ± 1.2``."""
    return MISSING if stat is None else f"{100 * stat.mean:.1f} ± {100 * stat.std:.1f}"


def scaled(stat: Stat | None, scale: float = 1.0) -> str:
    """``scale`` × mean ± std, with the decimals (0 to 4) that give the mean three significant
    digits: ``2.82 ± 0.10``, ``126 ± 5``, ``0.0312 ± 0.0040``."""
    if stat is None:
        return MISSING
    mean, std = scale * stat.mean, scale * stat.std
    digits = 2 if mean == 0 else min(4, max(0, 2 - math.floor(math.log10(abs(mean)))))
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def duration(seconds: float) -> str:
    """``42 s``, ``12 min 03 s``, ``2 h 05 min``."""
    s = int(round(seconds))
    if s < 60:
        return f"{seconds:.0f} s" if seconds >= 1 else f"{seconds:.2f} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def header_line(results: Results) -> str:
    seeds = ", ".join(map(str, results.seeds))
    return (
        f"split {results.split}, preset {results.preset}, seeds {seeds} (n = {len(results.seeds)}), "
        f"wall time {duration(results.wall_s)}"
    )


def accuracy_table(results: Results) -> Table:
    """Rows: methods in the fixed order; columns: ID and OOD accuracy (%) per concept and joint.
    The best OOD mean of each concept is emphasised."""
    keys = [*results.concepts, JOINT]
    columns = [Column("method", numeric=False), Column("n")]
    for k in keys:
        columns += [Column("ID", k), Column("OOD", k)]
    rows, best = [], {}
    for r, (method, s) in enumerate(results.summary.items()):
        row = [method, str(s.n)]
        for k in keys:
            row += [pct(s.id.get(k)), pct(s.ood.get(k))]
            if k in s.ood and (k not in best or s.ood[k].mean > best[k][0]):
                best[k] = (s.ood[k].mean, r)
        rows.append(tuple(row))
    emphasis = frozenset((r, 3 + 2 * keys.index(k)) for k, (_, r) in best.items()) if len(rows) > 1 else frozenset()
    return Table(tuple(columns), tuple(rows), emphasis)


def extras_table(results: Results) -> Table | None:
    """Rows: methods; columns: whichever of reconstruction MSE, FG-ARI, identifiability (ID and
    OOD) and costs any run measured. None when no run measured any."""
    extra = results.summary_extra
    # (group, label, how to read it from an ExtraSummary, how to print it)
    candidates = [
        ("recon MSE ×10⁻³", "ID", lambda e: e.recon_mse and e.recon_mse.id, lambda s: scaled(s, 1e3)),
        ("recon MSE ×10⁻³", "OOD", lambda e: e.recon_mse and e.recon_mse.ood, lambda s: scaled(s, 1e3)),
        ("FG-ARI %", "ID", lambda e: e.fg_ari and e.fg_ari.id, pct),
        ("FG-ARI %", "OOD", lambda e: e.fg_ari and e.fg_ari.ood, pct),
        ("identifiability %", "ID", lambda e: e.identifiability and e.identifiability.id, pct),
        ("identifiability %", "OOD", lambda e: e.identifiability and e.identifiability.ood, pct),
        ("cost", "train s", lambda e: e.train_s, scaled),
        ("cost", "infer ms/image", lambda e: e.infer_s_per_image, lambda s: scaled(s, 1e3)),
        ("cost", "search steps", lambda e: e.search_steps, scaled),
    ]
    used = [c for c in candidates if any(c[2](e) for e in extra.values())]
    if not used:
        return None
    columns = (Column("method", numeric=False), *(Column(label, group) for group, label, _, _ in used))
    rows = tuple((m, *(fmt(get(e)) for _, _, get, fmt in used)) for m, e in extra.items())
    return Table(columns, rows)


def headline(results: Results) -> str | None:
    """The comparison the claim is about: the best generative against the best non-generative
    method by OOD joint accuracy. None unless both kinds ran."""
    ood = {m: s.ood[JOINT] for m, s in results.summary.items()}
    gen = {m: v for m, v in ood.items() if m in GENERATIVE}
    non = {m: v for m, v in ood.items() if m not in GENERATIVE}
    if not gen or not non:
        return None
    g = max(gen, key=lambda m: gen[m].mean)
    n = max(non, key=lambda m: non[m].mean)
    diff = 100 * (gen[g].mean - non[n].mean)
    return (
        f"OOD joint accuracy: best generative method {g} {pct(gen[g])} % vs best non-generative {n} "
        f"{pct(non[n])} % ({diff:+.1f} percentage points)"
    )


NOTE = (
    "Accuracy in %, mean ± sample standard deviation over the n seeds of each method (ddof = 1; "
    "± 0.0 with one seed). Readouts are fitted on ID data only; OOD holds only combinations never seen "
    "in training."
)


def results_markdown(results: Results) -> str:
    """results.md: a header line, the accuracy table, and the extra metrics and costs if any."""
    parts = [f"# genperc results: {header_line(results)}", "", accuracy_table(results).to_markdown(), "", NOTE]
    line = headline(results)
    if line:
        parts += ["", line]
    extras = extras_table(results)
    if extras is not None:
        parts += ["", "## Extra metrics and costs", "", extras.to_markdown(), "",
                  "Mean ± sample std over the seeds that measured each metric."]
    return "\n".join(parts) + "\n"


def results_text(results: Results) -> str:
    """The same tables as aligned plain text, for the end of a run in the terminal."""
    parts = [f"genperc results: {header_line(results)}", "", accuracy_table(results).to_text(), "", textwrap.fill(NOTE, 100)]
    line = headline(results)
    if line:
        parts += ["", textwrap.fill(line, 100)]
    extras = extras_table(results)
    if extras is not None:
        parts += ["", "Extra metrics and costs:", extras.to_text()]
    return "\n".join(parts)


def write_markdown(results: Results, path: str | Path) -> Path:
    """Write results.md atomically."""
    return atomic_write_text(path, results_markdown(results))
