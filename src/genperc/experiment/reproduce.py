"""``genperc reproduce``: data → VAE → every method → metrics → results.json, results.md,
figures and report.html, for each seed; resumable stage by stage.

    OUT/config.yaml            the resolved config (a rerun with another config is refused)
    OUT/stages/                one record per finished stage (skipped on resume)
    OUT/seed_<s>/              the seed's VAE run, supervised runs, replay encoder, latents, metrics
    OUT/results.json|.md, OUT/figures/*.png, OUT/report.html
    DATA_ROOT/<split>/         the dataset (default DATA_ROOT = OUT/data; reused if it matches)

With ``--split all`` each split gets its own ``OUT/<split>/`` as above and ``OUT/results.md``
collects their tables.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from genperc import config as config_lib
from genperc import report
from genperc.data.dataset import DatasetInfo, SlotDataset
from genperc.data.generate import generate
from genperc.data.store import atomic_write_json
from genperc.errors import UserError
from genperc.experiment.config import ReproduceConfig
from genperc.experiment.evaluate import SeedScores, evaluate_seed
from genperc.experiment.pipeline import SeedRun, key_of, run_methods, vae_model
from genperc.experiment.stages import StageBook

SPLITS = ("background", "texture", "object")


class ReproduceError(UserError):
    pass


@dataclass
class SplitOutcome:
    split: str
    out: Path
    results: report.Results
    report_html: Path


def resolve(preset: str | None, file: Path | None, overrides: list[str], split: str,
            heldout: list | None = None) -> ReproduceConfig:
    """Layers: preset < --config FILE < the preset's split_overrides[split] < key=value; then the
    split, the held-out list and the fields every stage must agree on."""
    layers = dict(preset=("reproduce", preset) if preset else None, file=file)
    first = config_lib.load(ReproduceConfig, **layers, overrides=overrides)
    extra = [f"data.split={split}"] + list(first.split_overrides.get(split, []))
    cfg = config_lib.load(ReproduceConfig, **layers, overrides=extra + list(overrides))
    if heldout is not None:
        cfg.data.support = replace(cfg.data.support, kind="heldout", heldout=heldout)
    return cfg


def _device(name: str) -> str:
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ReproduceError("device=cuda but torch sees no GPU; use device=cpu or device=auto")
    if name not in ("cpu", "cuda"):
        raise ReproduceError(f"device must be auto, cpu or cuda, got {name!r}")
    return name


def _claim_dir(out: Path, cfg: ReproduceConfig) -> None:
    """Use ``out`` only if it is new or holds a reproduction with this very config."""
    saved = out / "config.yaml"
    if saved.is_file():
        if config_lib.to_dict(config_lib.load(ReproduceConfig, file=saved)) != config_lib.to_dict(cfg):
            raise ReproduceError(f"{out} holds a reproduction made with another config ({saved}); choose another "
                                 "--out, or delete that directory to start over")
    elif out.exists() and any(out.iterdir()):
        raise ReproduceError(f"{out} is not empty and holds no reproduction; choose a new or empty --out")
    out.mkdir(parents=True, exist_ok=True)
    config_lib.save(cfg, saved)


def reproduce_split(cfg: ReproduceConfig, preset: str, seeds: list[int], out: Path, data_root: Path | None = None,
                    progress: bool = True) -> SplitOutcome:
    split = cfg.data.split
    if not seeds:
        raise ReproduceError("no seeds: pass --seeds N (N >= 1)")
    device = _device(cfg.device)
    _claim_dir(out, cfg)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    print(f"# reproduce config ({out})\n" + config_lib.dump_yaml(cfg), end="", file=sys.stderr)
    book = StageBook(out)
    data = (data_root or out / "data") / split
    t0 = time.perf_counter()
    gen = generate(cfg.data, data, progress=progress)  # reuses a matching dataset
    data_rec = book.done("data", key_of("data", config_lib.to_dict(cfg.data)))
    if data_rec is None or gen.rendered:
        data_rec = book.finish("data", key_of("data", config_lib.to_dict(cfg.data)), [data / "manifest.json"], t0,
                               {"rendered": gen.rendered})
    info = DatasetInfo.from_dir(data)
    cfg = replace(cfg, train=replace(cfg.train, model=replace(cfg.train.model, res=info.res, n_slots=info.n_slots)))
    methods = cfg.methods_for(split)

    scores: dict[int, SeedScores] = {}
    for seed in seeds:
        r = SeedRun(cfg, split, seed, data, info, out, book, device, progress)
        keys = run_methods(r)
        metrics = r.dir / "metrics.json"

        def work(r: SeedRun = r, metrics: Path = metrics) -> list[Path]:
            atomic_write_json(metrics, evaluate_seed(r, methods).to_json())
            return [metrics]

        r.stage("evaluate", key_of("evaluate", keys, config_lib.to_dict(cfg.eval), methods), [metrics], work)
        scores[seed] = SeedScores.from_json(json.loads(metrics.read_text()))

    # compute time summed over the stages (a resumed run also counts the stages done before)
    wall = data_rec.wall_s + sum(rec.wall_s for seed in seeds for rec in book.records(f"seed_{seed}/"))
    desc = info.manifest["support"]
    meta = report.Meta.current(
        dataset=str(data), device=f"{device} ({torch.get_num_threads()} threads)" if device == "cpu" else device,
        concept_values={c.name: list(c.values) for c in info.concepts},
        heldout_concepts=desc.get("concepts", []), heldout=desc.get("heldout", []),
        hyperparameters=config_lib.to_dict(cfg))
    runs = [run for seed in seeds for run in scores[seed].runs]
    results = report.Results(split, preset, tuple(seeds), tuple(runs), config_lib.sha256(cfg), wall, meta)
    report.write_results(results, out / "results.json")
    report.write_markdown(results, out / "results.md")
    figures = make_figures(SeedRun(cfg, split, seeds[0], data, info, out, book, device, progress), results, methods)
    notes = _val_note(scores)
    html = report.write_report(results, figures, out / "report.html", config_yaml=config_lib.dump_yaml(cfg),
                               notes=notes)
    return SplitOutcome(split, out, results, html)


def _val_note(scores: dict[int, SeedScores]) -> str:
    """ID validation joint accuracy per method: what settings may be chosen by (never OOD)."""
    per_method: dict[str, list[float]] = {}
    for s in scores.values():
        for m, acc in s.val.items():
            per_method.setdefault(m, []).append(acc["joint"])
    if not per_method:
        return ""
    parts = [f"{m} {100 * np.mean(v):.1f}%" for m, v in per_method.items()]
    return "ID validation joint accuracy (used to choose settings; OOD data never are): " + ", ".join(parts) + "."


def make_figures(r: SeedRun, results: report.Results, methods: list[str]) -> dict[str, Path]:
    """The report's figures, from the first seed."""
    from genperc.methods import RecombineConfig, SlotRecombiner, concept_slots_from_readout

    folder = r.root / "figures"
    n = r.cfg.eval.figure_images
    figs = {"accuracy": report.plot_accuracy(results, folder / "accuracy.png")}
    model = vae_model(r)
    gen = "search" if "search" in methods else "encoder"
    batches = []
    for split in ("test_id", "test_ood"):
        ds = SlotDataset(r.data, split)
        lat = r.latents(gen, split)
        idx = np.arange(min(n, len(ds)))
        with torch.no_grad():
            dec = model.decode(torch.from_numpy(lat.mu[idx]).to(r.device))
        batches.append(report.ImageBatch(ds.batch(idx).images.numpy(), dec.image.clamp(0, 1).cpu().numpy(),
                                         None if dec.masks is None else dec.masks.cpu().numpy()))
    figs["reconstructions"] = report.plot_reconstructions(batches[0], batches[1], folder / "reconstructions.png")
    curves = {m: np.asarray(r.latents(m, "test_ood").meta["trace"])[None] for m in ("search", "replay+search")
              if m in methods}
    if curves:
        figs["search_loss"] = report.plot_search_loss(curves, folder / "search_loss.png")
    if "replay" in methods:
        bank = r.latents("encoder", "train")
        mode = r.cfg.replay.sampler.mode
        concept_slots = None
        if mode == "novel_only":
            from genperc.eval import fit_readout

            readout = fit_readout(bank.mu, bank.labels, r.info.concept_names, [c.slot for c in r.info.concepts],
                                  seed=r.seed)
            concept_slots = concept_slots_from_readout(readout)
        sampler = SlotRecombiner(torch.from_numpy(bank.mu), RecombineConfig(mode=mode), seed=r.seed,
                                 labels=bank.labels, concept_slots=concept_slots)
        rec = sampler.sample(2 * n)
        with torch.no_grad():
            samples = model.decode(rec.z.to(r.device)).image.clamp(0, 1).cpu().numpy()
        train = SlotDataset(r.data, "train")
        src = rec.source
        sources = train.batch(src.reshape(-1)).images.numpy().reshape(*src.shape, *samples.shape[1:])
        figs["replay_samples"] = report.plot_replay_samples(samples, folder / "replay_samples.png", sources=sources,
                                                            slot_names=[f"slot {k}" for k in range(src.shape[1])])
    return figs


def reproduce(preset: str | None, file: Path | None, overrides: list[str], split: str, seeds: list[int], out: Path,
              data_root: Path | None = None, heldout: list | None = None, progress: bool = True) -> list[SplitOutcome]:
    splits = list(SPLITS) if split == "all" else [split]
    cfgs = {s: resolve(preset, file, overrides, s, heldout) for s in splits}  # all configs checked before any work
    name = preset or (Path(file).stem if file else "custom")
    outcomes = []
    for s in splits:
        target = out / s if split == "all" else out
        outcomes.append(reproduce_split(cfgs[s], name, seeds, target, data_root or out / "data", progress))
    if split == "all":
        text = "\n\n".join(f"## {o.split}\n\n" + report.results_markdown(o.results) for o in outcomes)
        (out / "results.md").write_text(text + "\n")
    return outcomes
