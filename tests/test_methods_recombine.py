"""The replay sampler: slot-wise marginals are the bank's, slots always come from different
images, novel_only never emits an ID combination, and sampling is seeded."""

import numpy as np
import pytest
import torch
from scipy.stats import chisquare

from genperc.methods import MethodError, RecombineConfig, SlotRecombiner

N, K, D = 12, 3, 4


def bank() -> torch.Tensor:
    return torch.arange(N * K * D, dtype=torch.float32).view(N, K, D)


def id_setup():
    """Labels of 24 ID images: concept 0 on slot 0 (4 values), concept 1 on slot 2 (4 values),
    ID combinations only those with (c0 + c1) even."""
    rng = np.random.default_rng(0)
    c0 = rng.integers(4, size=24)
    c1 = (c0 + 2 * rng.integers(2, size=24)) % 4
    labels = np.stack([c0, c1], axis=1)
    z = torch.randn(24, K, D, generator=torch.Generator().manual_seed(0))
    return z, labels, (0, 2)


@pytest.mark.parametrize("mode", ["with_replacement", "cyclic_shift"])
def test_slot_marginals_match_the_bank(mode):
    sampler = SlotRecombiner(bank(), RecombineConfig(mode=mode), seed=0)
    n = 600 * N
    source = np.concatenate([sampler.sample(n // 60).source for _ in range(60)])
    for k in range(K):
        counts = np.bincount(source[:, k], minlength=N)
        if mode == "cyclic_shift":  # blocks are permutations of the bank: exactly equal use
            assert (counts == n // N).all()
        else:
            assert chisquare(counts).pvalue > 1e-4, counts


@pytest.mark.parametrize("mode", ["with_replacement", "cyclic_shift", "novel_only"])
def test_slots_come_from_different_images_and_are_bank_rows(mode):
    z_bank, labels, concept_slots = id_setup()
    sampler = SlotRecombiner(z_bank, RecombineConfig(mode=mode), seed=1, labels=labels, concept_slots=concept_slots)
    for n in (K, 7, 24, 100):
        rec = sampler.sample(n)
        assert rec.z.shape == (n, K, D) and rec.source.shape == (n, K)
        assert all(len(set(row)) == K for row in rec.source.tolist())
        assert torch.equal(rec.z, z_bank[torch.from_numpy(rec.source), torch.arange(K)])


def test_novel_only_never_emits_an_id_combination():
    z_bank, labels, concept_slots = id_setup()
    sampler = SlotRecombiner(z_bank, RecombineConfig(mode="novel_only"), seed=2, labels=labels,
                             concept_slots=concept_slots)
    id_combos = {tuple(r) for r in labels.tolist()}
    rec = sampler.sample(2000)
    combos = sampler.combinations(rec.source)
    assert combos.tolist() == [[labels[s[0], 0], labels[s[2], 1]] for s in rec.source.tolist()]
    assert not id_combos & {tuple(r) for r in combos.tolist()}
    assert len({tuple(r) for r in combos.tolist()}) == 8  # every novel (odd-sum) combination occurs
    # the plain sampler does emit ID combinations: the rejection is what removes them
    plain = SlotRecombiner(z_bank, seed=2).sample(2000).source
    assert {(labels[s[0], 0], labels[s[2], 1]) for s in plain.tolist()} & id_combos


def test_novel_only_needs_labels_and_concepts_on_different_slots():
    z_bank, labels, _ = id_setup()
    with pytest.raises(MethodError, match="needs the bank's ID labels"):
        SlotRecombiner(z_bank, RecombineConfig(mode="novel_only"))
    with pytest.raises(MethodError, match="at least two different slots"):
        SlotRecombiner(z_bank, RecombineConfig(mode="novel_only"), labels=labels, concept_slots=(1, 1))


def test_impossible_rejection_is_reported():
    z_bank = torch.randn(K, K, D)
    labels = np.array([[0, 0], [1, 1], [0, 1]])  # ID holds every combination but (1, 0) ...
    sampler = SlotRecombiner(z_bank, RecombineConfig(mode="novel_only", max_tries=300), labels=labels,
                             concept_slots=(0, 1))
    rec = sampler.sample(50)  # ... which rows 1 (slot 0) and 0 (slot 1) make
    assert (rec.source[:, 0] == 1).all() and (rec.source[:, 1] == 0).all()
    only = torch.randn(K, K, D)
    full = np.array([[0, 0], [0, 0], [0, 0]])  # a single value each: no novel combination exists
    with pytest.raises(MethodError, match="still rejected"):
        SlotRecombiner(only, RecombineConfig(mode="novel_only", max_tries=20), labels=full,
                       concept_slots=(0, 1)).sample(5)


@pytest.mark.parametrize("mode", ["with_replacement", "cyclic_shift"])
def test_sampling_is_seeded(mode):
    draws = [[SlotRecombiner(bank(), RecombineConfig(mode=mode), seed=s).sample(20).source for _ in range(3)]
             for s in (5, 5, 6)]
    assert all(np.array_equal(a, b) for a, b in zip(draws[0], draws[1]))
    assert not all(np.array_equal(a, b) for a, b in zip(draws[0], draws[2]))


def test_bad_requests():
    with pytest.raises(MethodError, match="cannot give"):
        SlotRecombiner(torch.randn(2, K, D))
    with pytest.raises(MethodError, match="at least 3 samples"):
        SlotRecombiner(bank(), RecombineConfig(mode="cyclic_shift")).sample(2)
