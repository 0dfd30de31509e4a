"""The ways of getting representations of (OOD) images from models trained on ID data alone.

Non-generative — an encoder used directly:

* ``encoder``: the trained VAE's encoder (posterior means) — ``encode_split``;
* ``supervised``: the same encoder architecture trained with cross-entropy per concept —
  ``train_supervised`` / ``supervised_split``;
* ``replay-augmentation``: the supervised encoder also trained on decoded recombinations as
  plain labelled data (``SupervisedConfig.augment_from``): the control separating "inverting the
  decoder" from "more data".

Generative — inverting the VAE's frozen decoder:

* ``search``: gradient search on the slots from an initial guess — ``search`` / ``search_split``
  (``SearchConfig.init``: ``encoder`` → "search", ``zero`` / ``random`` → ablations);
* ``replay``: an encoder trained to recover recombined ID slots from their decoded images —
  ``SlotRecombiner`` (the sampler), ``train_replay`` / ``replay_split``;
* ``replay+search``: search initialised from the replay encoder (``SearchConfig(init="replay")``).

Every stage returns ``Latents`` (slots, ground truth, cost), saved and loaded as one file.
"""

from genperc.methods.common import MethodError, latents_path
from genperc.methods.encode import encode, encode_dataset, encode_split
from genperc.methods.latents import Cost, Latents
from genperc.methods.recombine import (
    Recombination,
    RecombineConfig,
    RecombineMode,
    SlotRecombiner,
    concept_slots_from_readout,
)
from genperc.methods.replay import (
    ReplayConfig,
    ReplayFit,
    ReplayResult,
    check_replay_trained,
    fit_replay_encoder,
    load_replay_encoder,
    replay_split,
    train_replay,
)
from genperc.methods.search import (
    SearchConfig,
    SearchResult,
    initial_latents,
    reconstruction_loss,
    search,
    search_split,
)
from genperc.methods.slot_encoder_net import SlotEncoderNet
from genperc.methods.supervised import (
    LoadedSupervised,
    SupervisedConfig,
    SupervisedNet,
    SupervisedResult,
    load_supervised,
    min_cost_assignment,
    supervised_split,
    train_supervised,
)

__all__ = [
    "Cost",
    "Latents",
    "LoadedSupervised",
    "MethodError",
    "Recombination",
    "RecombineConfig",
    "RecombineMode",
    "ReplayConfig",
    "ReplayFit",
    "ReplayResult",
    "SearchConfig",
    "SearchResult",
    "SlotEncoderNet",
    "SlotRecombiner",
    "SupervisedConfig",
    "SupervisedNet",
    "SupervisedResult",
    "check_replay_trained",
    "concept_slots_from_readout",
    "encode",
    "encode_dataset",
    "encode_split",
    "fit_replay_encoder",
    "initial_latents",
    "latents_path",
    "load_replay_encoder",
    "load_supervised",
    "min_cost_assignment",
    "reconstruction_loss",
    "replay_split",
    "search",
    "search_split",
    "supervised_split",
    "train_replay",
    "train_supervised",
]
