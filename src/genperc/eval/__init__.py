"""Evaluation metrics of genperc and the protocol they follow.

Latents are (N, K, D): N images, K inferred slots of dimension D. Every readout below is fitted on
ID training latents only and then applied, frozen, to ID test and OOD latents; OOD data never
enter a fit, a standardisation or a slot assignment. Fitting is seeded (``seed``), so a metric is
a deterministic function of the ID data and the seed.

**Concept readout** (``fit_readout``; the paper's metric). Per concept (``"object.category"``,
``"background.background"``…), a classifier on one inferred slot: standardised logistic
regression by default, ``model="mlp"`` for a small MLP. The slot → concept assignment is decided
on ID data: the ID training set is split (``val_fraction``), every (concept, slot) classifier is
fitted on one part and scored on the other, and ground-truth slots are assigned to distinct
inferred slots by the Hungarian algorithm on the mean validation accuracy of their concepts.
Concepts of one ground-truth slot share an inferred slot; concepts of different ones never do.
The classifiers are then refitted on all ID training latents. Reported: accuracy per concept and
joint accuracy (all concepts of an image right). Labels predicted by a method itself (supervised
heads) are scored the same way by ``score_predictions``.

**Slot identifiability** (``fit_identifiability``). Readouts from inferred slots to every factor
of the matched ground-truth slot (ridge / logistic regression, or MLPs), matched globally by the
Hungarian algorithm on ID validation scores, refitted on all ID data; R² for continuous factors,
accuracy for categorical ones, per factor and averaged, and relative to a ceiling: the same
procedure applied to the ground-truth latents.

Both readouts assume the same slot order in every image (genperc's models start from learned
per-slot initial values); align image-dependent slot orders first (``match_slots``).

**Segmentation** (``fg_ari``, ``mask_overlap``). Slot masks are hardened by argmax. FG-ARI is
computed per image on foreground pixels only — ground-truth labels in ``ignore_labels`` (255 =
"no slot"; add the background slot's label to score objects only) are removed — and averaged over
images; images without foreground are left out, single-object images follow the pair-counting
convention (1 if the object is not split, else 0) and are counted. mBO (best IoU per object) and
mIoU (Hungarian one-to-one, unmatched objects 0) score non-ignored objects against full slot masks.

**Reconstruction** (``reconstruction_mse``): per-image MSE; ID vs OOD are two calls.

**Decoder interaction** (``jacobian_norms``, ``jacobian_masks``, ``interaction_score``): per-pixel
slot Jacobian norms by forward-mode differentiation, slot masks from them, and the compositional
contrast with its normalisation to [0, 1] (0 = every pixel driven by one slot).

**Matching** (``match_slots``, ``matched_mse``): per-image optimal slot permutation under squared
L2, and the permutation-invariant loss of replay training.

Image-level metrics return ``PerImageScores`` (mean, std, n, per-image values) so ID / OOD
comparisons come with their spread.
"""

from genperc.eval.identifiability import (
    FactorKind,
    FactorScore,
    IdentifiabilityReadout,
    IdentifiabilityScores,
    fit_identifiability,
)
from genperc.eval.interaction import InteractionScores, interaction_score, jacobian_masks, jacobian_norms
from genperc.eval.matching import assign, match_slots, matched_mse, pairwise_sq_dist, permute_slots
from genperc.eval.probes import ProbeModel
from genperc.eval.readout import ReadoutModel, ReadoutScores, SlotReadout, fit_readout, score_predictions
from genperc.eval.reconstruction import reconstruction_mse
from genperc.eval.segmentation import (
    FGARIScores,
    OverlapScores,
    adjusted_rand_index,
    fg_ari,
    hard_masks,
    iou_matrix,
    mask_overlap,
)
from genperc.eval.summary import PerImageScores

__all__ = [
    "FGARIScores",
    "FactorKind",
    "FactorScore",
    "IdentifiabilityReadout",
    "IdentifiabilityScores",
    "InteractionScores",
    "OverlapScores",
    "PerImageScores",
    "ProbeModel",
    "ReadoutModel",
    "ReadoutScores",
    "SlotReadout",
    "adjusted_rand_index",
    "assign",
    "fg_ari",
    "fit_identifiability",
    "fit_readout",
    "hard_masks",
    "interaction_score",
    "iou_matrix",
    "jacobian_masks",
    "jacobian_norms",
    "mask_overlap",
    "match_slots",
    "matched_mse",
    "pairwise_sq_dist",
    "permute_slots",
    "reconstruction_mse",
    "score_predictions",
]
