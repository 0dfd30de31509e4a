"""The experiment a researcher runs to check the claim: ``reproduce`` (data → VAE → every method →
metrics → report, per seed, resumable) and ``sweep_data`` (accuracy vs number of ID images)."""

from genperc.experiment.config import ALL_METHODS, EvalConfig, ReproduceConfig
from genperc.experiment.reproduce import ReproduceError, SplitOutcome, reproduce, reproduce_split, resolve
from genperc.experiment.sweep import sweep_data

__all__ = ["ALL_METHODS", "EvalConfig", "ReproduceConfig", "ReproduceError", "SplitOutcome", "reproduce",
           "reproduce_split", "resolve", "sweep_data"]
