"""The report layer: typed results, their summary over seeds, tables, figures and report.html.

Orchestration (``genperc reproduce``) measures; this package only records and presents. The
pieces, each usable alone:

- ``runs``: ``MethodRun`` (one method × one seed: ID / OOD accuracy per concept and ``"joint"``,
  optional ``IdOod`` reconstruction MSE, FG-ARI, identifiability, and ``Cost``).
- ``summary``: ``summarize`` / ``summarize_extra`` (mean and sample std over seeds, ddof = 1; std 0.0
  for one seed), as ``Stat`` values.
- ``meta``: ``Meta``, the provenance and context of a run (``Meta.current`` finds versions, commit, time).
- ``results``: ``Results`` (all runs of one split), ``write_results`` / ``load_results`` (results.json,
  written atomically) and ``validate_results`` (raises ``ResultsError`` naming the key path, e.g.
  ``summary.encoder.ood.joint.mean``).
- ``tables``: ``results_markdown`` / ``write_markdown`` (results.md), ``results_text`` (terminal),
  ``accuracy_table`` / ``extras_table`` (``Table`` objects rendering to markdown, text or HTML).
- ``figures``: ``plot_accuracy``, ``plot_reconstructions`` (``ImageBatch`` for ID and OOD),
  ``plot_search_loss``, ``plot_replay_samples``; each writes a PNG and returns its path.
- ``sweep``: ``SweepResults`` (number of ID training images → ``Results``), ``write_sweep`` /
  ``load_sweep`` / ``validate_sweep`` (sweep.json), ``sweep_markdown`` / ``write_sweep_markdown``,
  ``plot_data_efficiency``.
- ``html``: ``write_report`` — one self-contained page (figures inlined as data URIs, no scripts).

results.json (``Results.to_json``)::

    {"split": str, "preset": str, "seeds": [int],
     "summary": {METHOD: {"id": {CONCEPT | "joint": {"mean": float, "std": float}}, "ood": {...}}},
     "runs": [{"seed": int, "method": METHOD, "id": {CONCEPT | "joint": float}, "ood": {...},
               "recon_mse": {"id": float, "ood": float} | null, "fg_ari": ... | null,
               "identifiability": ... | null,
               "cost": {"train_s": float, "infer_s_per_image": float, "search_steps": float | null} | null}],
     "config_sha256": str, "wall_s": float,
     "summary_extra": {METHOD: {"recon_mse" | "fg_ari" | "identifiability": {"id": STAT, "ood": STAT} | null,
                                "cost": {"train_s" | "infer_s_per_image" | "search_steps": STAT | null}}},
     "meta": {"genperc_version", "git_commit", "created", "device", "dataset", "concept_values",
              "heldout_concepts", "heldout", "hyperparameters", "versions"}}

METHOD is one of ``METHODS``; accuracies are fractions in [0, 1]; STAT is ``{"mean", "std", "n"}``.
``summary`` and ``summary_extra`` are derived from ``runs``; reading a file checks that they agree.

A reproduction run::

    from genperc import report

    runs = []
    for seed in seeds:
        for method in methods:
            id_scores, ood_scores = ...                          # genperc.eval.ReadoutScores
            runs.append(report.MethodRun.from_scores(
                seed, method, id_scores, ood_scores,
                recon_mse=report.IdOod(mse_id.mean, mse_ood.mean),
                cost=report.Cost(train_s=..., infer_s_per_image=..., search_steps=...)))
    meta = report.Meta.current(dataset=str(data_dir), device="cpu (2 threads)",
                               concept_values={c.name: list(c.values) for c in space.concepts},
                               heldout_concepts=support["concepts"], heldout=support["heldout"],
                               hyperparameters={...})
    results = report.Results(split, preset, seeds, runs, config_sha256, wall_s, meta)
    report.write_results(results, out / "results.json")
    report.write_markdown(results, out / "results.md")
    figures = {
        "accuracy": report.plot_accuracy(results, out / "accuracy.png"),
        "reconstructions": report.plot_reconstructions(
            report.ImageBatch(x_id, x_hat_id, masks_id), report.ImageBatch(x_ood, x_hat_ood, masks_ood),
            out / "reconstructions.png"),
        "search_loss": report.plot_search_loss({"search": losses, "replay+search": losses_r}, out / "search_loss.png"),
        "replay_samples": report.plot_replay_samples(x_replay, out / "replay.png", sources, ["object", "background"]),
    }
    report.write_report(results, figures, out / "report.html", config_yaml=yaml_text)
    print(report.results_text(results))
"""

from genperc.report.figures import (
    ImageBatch,
    chance_levels,
    plot_accuracy,
    plot_reconstructions,
    plot_replay_samples,
    plot_search_loss,
)
from genperc.report.html import FIGURES, render_report, write_report
from genperc.report.jsonshape import ResultsError
from genperc.report.meta import Meta
from genperc.report.results import Results, load_results, validate_results, write_results
from genperc.report.runs import GENERATIVE, JOINT, METHODS, Cost, IdOod, MethodRun
from genperc.report.summary import ExtraSummary, IdOodStat, MethodSummary, Stat, summarize, summarize_extra
from genperc.report.sweep import (
    SweepResults,
    load_sweep,
    plot_data_efficiency,
    sweep_markdown,
    sweep_table,
    validate_sweep,
    write_sweep,
    write_sweep_markdown,
)
from genperc.report.tables import (
    Column,
    Table,
    accuracy_table,
    extras_table,
    headline,
    results_markdown,
    results_text,
    write_markdown,
)

__all__ = [
    "FIGURES",
    "GENERATIVE",
    "JOINT",
    "METHODS",
    "Column",
    "Cost",
    "ExtraSummary",
    "IdOod",
    "IdOodStat",
    "ImageBatch",
    "Meta",
    "MethodRun",
    "MethodSummary",
    "Results",
    "ResultsError",
    "Stat",
    "SweepResults",
    "Table",
    "accuracy_table",
    "chance_levels",
    "extras_table",
    "headline",
    "load_results",
    "load_sweep",
    "plot_accuracy",
    "plot_data_efficiency",
    "plot_reconstructions",
    "plot_replay_samples",
    "plot_search_loss",
    "render_report",
    "results_markdown",
    "results_text",
    "summarize",
    "summarize_extra",
    "sweep_markdown",
    "sweep_table",
    "validate_results",
    "validate_sweep",
    "write_markdown",
    "write_report",
    "write_results",
    "write_sweep",
    "write_sweep_markdown",
]
