"""Scoring every method of one seed: concept readout accuracy ID vs OOD (the paper's metric),
plus reconstruction error, FG-ARI of the decoder's slot masks, slot identifiability and cost.

Protocol (see ``genperc.eval``): every readout is fitted on ID training latents only, the
slot → concept assignment is decided on ID data, and the fitted readouts are applied frozen to
the ID test, OOD test and ID validation latents of each method. Methods with their own heads
(``supervised``, ``replay-augmentation``) are scored on their predictions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from genperc.data.dataset import SlotDataset
from genperc.eval import fg_ari, fit_identifiability, fit_readout, reconstruction_mse, score_predictions
from genperc.eval.readout import SlotReadout
from genperc.experiment.pipeline import SeedRun, vae_model
from genperc.report import Cost, IdOod, MethodRun

OWN_HEADS = ("supervised", "replay-augmentation")


@dataclass
class SeedScores:
    runs: list[MethodRun]
    val: dict[str, dict[str, float]]  # method -> ID validation accuracy per concept + joint (for choosing settings)

    def to_json(self) -> dict:
        return {"runs": [r.to_json() for r in self.runs], "val": self.val}

    @staticmethod
    def from_json(d: dict) -> SeedScores:
        return SeedScores([MethodRun.from_json(r) for r in d["runs"]], d["val"])


def _accuracy(scores) -> dict[str, float]:
    return {**scores.accuracy, "joint": scores.joint}


@torch.no_grad()
def _decode(model, mu: np.ndarray, batch: int, device: str) -> tuple[np.ndarray, np.ndarray | None]:
    images, masks = [], []
    for i in range(0, len(mu), batch):
        out = model.decode(torch.from_numpy(mu[i : i + batch]).to(device))
        images.append(out.image.clamp(0, 1).cpu())
        masks.append(None if out.masks is None else out.masks.cpu())
    return torch.cat(images).numpy(), (None if masks[0] is None else torch.cat(masks).numpy())


def _train_s(path: Path) -> float:
    return float(json.loads(path.read_text())["train_s"]) if path.is_file() else 0.0


def evaluate_seed(r: SeedRun, methods: list[str]) -> SeedScores:
    info, ecfg = r.info, r.cfg.eval
    names, slots = info.concept_names, [c.slot for c in info.concepts]
    bank = r.latents("encoder", "train")
    readouts: dict[str, SlotReadout] = {"encoder": fit_readout(bank.mu, bank.labels, names, slots,
                                                               model=ecfg.readout, seed=r.seed)}
    space = info.space
    columns = [space.slot_columns(k) for k in range(space.n_slots)]
    kinds = [[f.kind for f in s.factors] for s in space.slots]
    ident = None
    if ecfg.identifiability:
        ident = fit_identifiability(bank.mu, [bank.factors[:, c] for c in columns], kinds,
                                    slot_names=[s.name for s in space.slots],
                                    factor_names=[[f.name for f in s.factors] for s in space.slots], seed=r.seed)
    model = vae_model(r)
    ignore = (255,) if info.background_slot is None else (255, info.background_slot)
    datasets = {s: SlotDataset(r.data, s) for s in ("test_id", "test_ood")}
    gt = {s: (d.array("images").transpose(0, 3, 1, 2).astype(np.float32) / 255.0, d.array("masks"))
          for s, d in datasets.items()}
    train_s = {"vae": _train_s(r.vae / "summary.json"), "replay": _train_s(r.vae / "replay" / "summary.json"),
               "supervised": _train_s(r.dir / "supervised" / "summary.json"),
               "replay-augmentation": _train_s(r.dir / "augmentation" / "summary.json")}

    runs, val = [], {}
    for m in methods:
        lat = {s: r.latents(m, s) for s in r.splits()}
        if m in OWN_HEADS:
            acc = {s: _accuracy(score_predictions(lat[s].pred, lat[s].labels, names)) for s in lat}
        else:
            readout = readouts["encoder"]
            if ecfg.readout_fit == "method" and m != "encoder":
                fit = r.latents(m, "train")
                readout = fit_readout(fit.mu, fit.labels, names, slots, model=ecfg.readout, seed=r.seed)
            acc = {s: _accuracy(readout.score(lat[s].mu, lat[s].labels)) for s in lat}
        extra: dict = {}
        if m not in OWN_HEADS:
            recon, fg, idn = {}, {}, {}
            for s in ("test_id", "test_ood"):
                images, masks = _decode(model, lat[s].mu, ecfg.batch_size, r.device)
                recon[s] = reconstruction_mse(images, gt[s][0]).mean
                if ecfg.segmentation and masks is not None:
                    fg[s] = fg_ari(masks, gt[s][1], ignore_labels=ignore).ari.mean
                if ident is not None:
                    idn[s] = ident.score(lat[s].mu, [lat[s].factors[:, c] for c in columns]).mean_relative
            extra["recon_mse"] = IdOod(recon["test_id"], recon["test_ood"])
            for name, pair in (("fg_ari", fg), ("identifiability", idn)):
                if pair and all(np.isfinite(v) for v in pair.values()):  # undefined scores are left out
                    extra[name] = IdOod(float(pair["test_id"]), float(pair["test_ood"]))
        trained = {"encoder": train_s["vae"], "search": train_s["vae"], "replay": train_s["vae"] + train_s["replay"],
                   "replay+search": train_s["vae"] + train_s["replay"], "supervised": train_s["supervised"],
                   "replay-augmentation": train_s["vae"] + train_s["replay-augmentation"]}[m]
        ood_cost = lat["test_ood"].cost
        extra["cost"] = Cost(train_s=trained, infer_s_per_image=ood_cost.per_image_s, search_steps=ood_cost.mean_steps)
        runs.append(MethodRun(seed=r.seed, method=m, id=acc["test_id"], ood=acc["test_ood"], **extra))
        if "val" in acc:
            val[m] = acc["val"]
    return SeedScores(runs, val)
