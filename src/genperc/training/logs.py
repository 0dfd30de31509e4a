"""Run logs: one JSON object per logged step (``*.jsonl``), a CSV mirror and TensorBoard scalars.

On resume, lines logged after the checkpoint being resumed are dropped first, so a resumed run's
logs read exactly like those of an uninterrupted one (TensorBoard's ``purge_step`` does the same
for its event files).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path


class MetricsLog:
    def __init__(self, run_dir: Path, name: str = "metrics", resume_step: int | None = None,
                 tensorboard: bool = True) -> None:
        self.jsonl = run_dir / f"{name}.jsonl"
        self.csv = run_dir / f"{name}.csv"
        self.prefix = name
        if resume_step is not None:
            self._truncate(resume_step)
        self._writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._writer = SummaryWriter(str(run_dir / "tb"), purge_step=resume_step)
            except ImportError:  # tensorboard is a dependency, but logs must not stop a run
                self._writer = None

    def _truncate(self, step: int) -> None:
        if self.jsonl.exists():
            keep = [ln for ln in self.jsonl.read_text().splitlines() if ln and json.loads(ln)["step"] <= step]
            self.jsonl.write_text("".join(ln + "\n" for ln in keep))
            rows = [json.loads(ln) for ln in keep]
            self.csv.unlink(missing_ok=True)
            for row in rows:
                self._append_csv(row)

    def _append_csv(self, row: dict) -> None:
        new = not self.csv.exists()
        if not new:
            with open(self.csv, newline="") as f:
                header = next(csv.reader(f), [])
            if set(row) - set(header):  # a new column: rewrite with the wider header
                rows = list(csv.DictReader(open(self.csv, newline="")))
                header = header + [k for k in row if k not in header]
                with open(self.csv, "w", newline="") as f:
                    w = csv.DictWriter(f, fieldnames=header)
                    w.writeheader()
                    w.writerows(rows)
        else:
            header = list(row)
        with open(self.csv, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=header)
            if new:
                w.writeheader()
            w.writerow(row)

    def log(self, row: dict) -> None:
        with open(self.jsonl, "a") as f:
            f.write(json.dumps(row) + "\n")
        self._append_csv(row)
        if self._writer is not None:
            for k, v in row.items():
                if k != "step" and isinstance(v, (int, float)):
                    self._writer.add_scalar(f"{self.prefix}/{k}", v, row["step"])

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def read_jsonl(path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]
