"""Properties of the supports: ID ∩ OOD = ∅, slot-supported ID, exact reproduction from seeds."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genperc.data.factors import LatentSpace, Slot, categorical, continuous
from genperc.data.supports import SupportConfig, SupportError, make_support


def two_concept_space(n_a: int = 4, n_b: int = 5) -> LatentSpace:
    a = Slot("object", (categorical("category", [f"c{i}" for i in range(n_a)]), continuous("x", 0.2, 0.8)))
    b = Slot("background", (categorical("category", [f"b{i}" for i in range(n_b)]), continuous("hue", 0.0, 1.0)))
    return LatentSpace((a, b))


def diagonal_space() -> LatentSpace:
    fs = (continuous("x", 0.1, 0.9), categorical("shape", ("triangle", "square")), continuous("hue", 0.05, 0.95))
    return LatentSpace((Slot("o1", fs), Slot("o2", fs)))


@st.composite
def spaces_and_supports(draw):
    n_a, n_b = draw(st.integers(2, 6)), draw(st.integers(2, 6))
    space = two_concept_space(n_a, n_b)
    kind = draw(st.sampled_from(["heldout", "orthogonal"]))
    frac = draw(st.floats(0.1, 0.45))
    seed = draw(st.integers(0, 1000))
    return space, SupportConfig(kind=kind, heldout_fraction=frac, heldout_seed=seed)


def check_properties(space, support, seed):
    rng = np.random.default_rng(seed)
    ids = support.sample(300, rng)
    ood = support.sample(300, rng, ood=True)
    assert support.contains(ids).all() and not support.contains(ood).any()  # ID ∩ OOD = ∅
    assert ((ids >= 0) & (ids < 1)).all() and ((ood >= 0) & (ood < 1)).all()
    values = space.from_unit(ids)
    for k, f in space.columns:  # continuous values stay in range
        if not f.categorical:
            c = space.columns.index((k, f))
            assert (values[:, c] >= f.low).all() and (values[:, c] <= f.high).all()
    return ids, ood


@settings(max_examples=40, deadline=None)
@given(spaces_and_supports(), st.integers(0, 2**31))
def test_combination_supports_are_disjoint_and_slot_supported(case, seed):
    space, cfg = case
    try:
        support = make_support(space, cfg)
    except SupportError as e:  # a too-small grid may not admit the requested fraction: must say so
        assert "slot-supported" in str(e) or "holds out no" in str(e)
        return
    check_properties(space, support, seed)
    ood_set = {tuple(c) for c in support.ood_combos}
    assert ood_set and not ood_set & set(support.id_combos)
    for c_i, concept in enumerate(space.concepts):  # every value of every concept appears in ID
        assert {combo[c_i] for combo in support.id_combos} == set(range(len(concept.values)))
    # and the ID sampler really shows every value
    labels = space.labels(space.from_unit(support.sample(2000, np.random.default_rng(seed))))
    for c_i, concept in enumerate(space.concepts):
        assert set(labels[:, c_i]) == set(range(len(concept.values)))


@settings(max_examples=20, deadline=None)
@given(st.floats(0.03, 0.6), st.integers(0, 2**31))
def test_diagonal_support_is_disjoint(delta, seed):
    space = diagonal_space()
    support = make_support(space, SupportConfig(kind="diagonal", delta=delta))
    ids, ood = check_properties(space, support, seed)
    u = ids[:, support.cols]  # every factor of every ID sample is within delta of the diagonal
    assert (np.linalg.norm(u - u.mean(axis=2, keepdims=True), axis=2) <= delta + 1e-12).all()


def test_diagonal_matches_its_definition_for_two_slots():
    space = diagonal_space()
    support = make_support(space, SupportConfig(kind="diagonal", delta=0.125))
    u = np.random.default_rng(0).random((5000, space.n_columns))
    x1, x2 = u[:, space.column("o1", "x")], u[:, space.column("o2", "x")]
    inside = support.contains(u)
    # for two slots the distance to the diagonal is |u1 - u2| / sqrt(2)
    assert not inside[np.abs(x1 - x2) / np.sqrt(2) > 0.125].any()


@pytest.mark.parametrize("kind", ["heldout", "orthogonal", "diagonal", "full"])
def test_seeds_reproduce_samples_exactly(kind):
    space = diagonal_space() if kind == "diagonal" else two_concept_space()
    support = make_support(space, SupportConfig(kind=kind))
    a = support.sample(100, np.random.default_rng(7))
    b = support.sample(100, np.random.default_rng(7))
    c = support.sample(100, np.random.default_rng(8))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_heldout_list_by_name_and_validation():
    space = two_concept_space(2, 2)
    s = make_support(space, SupportConfig(kind="heldout", heldout=[["c0", "b1"]]))
    assert s.ood_combos == [(0, 1)] and s.describe()["heldout"] == [["c0", "b1"]]
    s = make_support(space, SupportConfig(kind="heldout", heldout=[{"object.category": "c1",
                                                                     "background.category": "b0"}]))
    assert s.ood_combos == [(1, 0)]
    with pytest.raises(SupportError, match="'zebra', which is not a value of 'object.category'"):
        make_support(space, SupportConfig(kind="heldout", heldout=[["zebra", "b0"]]))
    with pytest.raises(SupportError, match="value 'c0' of 'object.category' occurs in no ID combination"):
        make_support(space, SupportConfig(kind="heldout", heldout=[["c0", "b0"], ["c0", "b1"]]))
    with pytest.raises(SupportError, match="one value per concept"):
        make_support(space, SupportConfig(kind="heldout", heldout=[["c0"]]))


def test_random_heldout_fraction_and_seed():
    space = two_concept_space(8, 8)
    s = make_support(space, SupportConfig(kind="heldout", heldout_fraction=0.35, heldout_seed=3))
    assert len(s.ood_combos) == round(0.35 * 64)
    again = make_support(space, SupportConfig(kind="heldout", heldout_fraction=0.35, heldout_seed=3))
    other = make_support(space, SupportConfig(kind="heldout", heldout_fraction=0.35, heldout_seed=4))
    assert s.ood_combos == again.ood_combos != other.ood_combos
    with pytest.raises(SupportError, match="heldout_fraction"):
        make_support(space, SupportConfig(kind="heldout", heldout_fraction=1.2))


def test_full_has_no_ood_and_says_so():
    space = two_concept_space()
    s = make_support(space, SupportConfig(kind="full"))
    assert not s.has_ood
    with pytest.raises(SupportError, match="no OOD"):
        s.sample(5, np.random.default_rng(0), ood=True)


def test_diagonal_delta_too_large_leaves_no_ood():
    with pytest.raises(SupportError, match="no OOD"):
        make_support(diagonal_space(), SupportConfig(kind="diagonal", delta=0.8))


def test_keep_filter_is_honoured():
    space = two_concept_space()
    s = make_support(space, SupportConfig(kind="heldout"))
    col = space.column("object", "x")
    unit = s.sample(200, np.random.default_rng(0), ood=True, keep=lambda v: v[:, col] > 0.5)
    assert (space.from_unit(unit)[:, col] > 0.5).all()
