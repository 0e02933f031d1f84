"""The redundancy lattice: sizes, names, order, Möbius inversion, checked against brute force (tests/naive_sxpid)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

from pidlearn.lattice import MAX_SOURCES, Lattice, antichain_name, lattice, parse_name
from tests import naive_sxpid as naive


@pytest.mark.parametrize(("n", "size"), [(1, 1), (2, 4), (3, 18), (4, 166), (5, 7579)])
def test_sizes(n, size):
    lat = lattice(n)
    assert lat.n == n
    assert len(lat.antichains) == len(lat.names) == lat.n_atoms == len(lat) == size
    assert lat.mobius.shape == (size, size)
    assert len(set(lat.names)) == size


def test_cached():
    assert lattice(3) is lattice(3)
    assert lattice(np.int64(3)) is lattice(3)


@pytest.mark.parametrize("n", [0, -1, 6, 7])
def test_refused_sizes(n):
    with pytest.raises(ValueError, match="sources" if n > 0 else "at least one source"):
        lattice(n)


def test_six_sources_message():
    with pytest.raises(ValueError, match="7,828,352 antichains"):
        lattice(6)
    assert MAX_SOURCES == 5


@pytest.mark.parametrize("n", ["3", 3.0, True, None])
def test_bad_type(n):
    with pytest.raises(TypeError):
        lattice(n)


def test_two_source_order():
    lat = lattice(2)
    assert lat.names == ("{1}{2}", "{1}", "{2}", "{12}")
    assert lat.antichains == (((1,), (2,)), ((1,),), ((2,),), ((1, 2),))
    assert lat.bottom == 0 and lat.top == 3
    assert lat.rank.tolist() == [0, 1, 1, 2]


def test_three_source_names_match_reference(shared_dir):
    gates = json.loads((shared_dir / "reference" / "sxpid_gates.json").read_text())["gates"]
    assert set(lattice(3).names) == set(gates["XOR3"]["atoms"])
    assert set(lattice(2).names) == set(gates["XOR"]["atoms"])


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_antichains_and_order_match_brute_force(n):
    lat = lattice(n)
    chains = naive.antichains(n)
    assert {naive.name(a) for a in chains} == set(lat.names)
    by_name = {naive.name(a): a for a in chains}
    expected = np.array([[naive.leq(by_name[b], by_name[a]) for b in lat.names] for a in lat.names])
    np.testing.assert_array_equal(lat.leq, expected)


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_structure(n):
    lat = lattice(n)
    for name, chain in zip(lat.names, lat.antichains, strict=True):
        assert antichain_name(chain) == name
        assert parse_name(name) == chain
        assert all(list(s) == sorted(s) for s in chain)
        assert list(chain) == sorted(chain, key=lambda s: (len(s), s))
    assert np.all(np.diff(lat.rank) >= 0)
    assert lat.rank[0] == 0 and lat.rank[-1] == 2**n - 2
    assert lat.names[0] == "".join(f"{{{i}}}" for i in range(1, n + 1))
    assert lat.names[-1] == "{" + "".join(str(i) for i in range(1, n + 1)) + "}"
    # the Möbius matrix is lower triangular in lattice order, with unit diagonal
    m = lat.mobius.tocoo()
    assert np.all(m.row >= m.col)
    np.testing.assert_array_equal(lat.mobius.diagonal(), 1.0)
    # the cover tree used by the SxPID kernel: ↑α = ↑parent(α) ∪ {added(α)}
    for j in range(lat.n_atoms):
        p, g = lat._cover_parent[j], int(lat._cover_added[j])
        up_parent = 0 if p < 0 else int(lat.upsets[p])
        assert int(lat.upsets[j]) == up_parent | (1 << g)
        assert not up_parent >> g & 1
        assert p < 0 or p > j


@pytest.mark.parametrize("n", [2, 3, 4])
def test_leq_is_linear_extension(n):
    lat = lattice(n)
    rows, cols = np.nonzero(lat.leq)
    assert np.all(cols <= rows)
    assert np.all(np.diag(lat.leq))


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_moebius_inverts_zeta_exactly(n):
    lat = lattice(n)
    z = lat.leq.astype(float)
    np.testing.assert_array_equal(lat.mobius.toarray() @ z, np.eye(lat.n_atoms))
    np.testing.assert_array_equal(lat.zeta.toarray(), z)


@pytest.mark.parametrize("n", [2, 3])
def test_moebius_matches_recursion(n):
    """π from the naive recursion equals M @ r for random redundancies r."""
    lat = lattice(n)
    chains = naive.antichains(n)
    order = naive.strict_down_sets(chains)
    rng = np.random.default_rng(n)
    r = rng.normal(size=lat.n_atoms)
    by_name = {naive.name(a): a for a in chains}
    pis = naive.moebius({by_name[nm]: r[i] for i, nm in enumerate(lat.names)}, order)
    np.testing.assert_allclose(lat.mobius @ r, [pis[by_name[nm]] for nm in lat.names], atol=1e-12)


def test_moebius_five_sources_on_random_columns():
    """M @ Z = I for 300 random columns of the 7579 x 7579 zeta matrix (exact integer arithmetic)."""
    lat = lattice(5)
    rng = np.random.default_rng(5)
    cols = np.concatenate([[0, lat.top], rng.choice(lat.n_atoms, 300, replace=False)])
    z_cols = ((lat.upsets[:, None] & ~lat.upsets[None, cols]) == 0).astype(float)  # Z[α, β] = [β ≼ α]
    prod = lat.mobius @ z_cols
    expected = np.zeros_like(prod)
    expected[cols, np.arange(len(cols))] = 1.0
    np.testing.assert_array_equal(prod, expected)
    # Möbius values of a distributive lattice are 0, ±1 and sum to 0 below every element but the bottom
    assert set(np.unique(lat.mobius.data)) == {-1.0, 1.0}
    col_sums = np.asarray(lat.mobius.sum(axis=0)).ravel()
    assert col_sums[lat.top] == 1.0 and np.all(col_sums[:-1] == 0.0)


def test_fresh_build_is_fast():
    import time

    t0 = time.perf_counter()
    lat = Lattice(5)
    assert lat.n_atoms == 7579
    assert time.perf_counter() - t0 < 10.0


def test_index_and_sets():
    lat = lattice(3)
    assert lat.index("{1}{23}") == lat.names.index("{1}{23}")
    assert lat.index("{23}{1}") == lat.index("{1}{23}")
    assert lat.index(((2, 3), (1,))) == lat.index("{1}{23}")
    assert lat.source_masks("{1}{23}") == (0b001, 0b110)
    with pytest.raises(KeyError):
        lattice(2).index("{3}")
    down = lat.down_set("{1}")
    assert {lat.names[i] for i in down} == {"{1}", "{1}{2}", "{1}{3}", "{1}{23}", "{1}{2}{3}"}
    assert set(lat.down_set("{1}", strict=True)) == set(down) - {lat.index("{1}")}
    np.testing.assert_array_equal(lat.down_set("{12}{13}"), np.flatnonzero(lat.leq[lat.index("{12}{13}")]))
    np.testing.assert_array_equal(lat.up_set("{1}{2}"), np.flatnonzero(lat.leq[:, lat.index("{1}{2}")]))
    assert lat.up_set("{123}", strict=True).size == 0


def test_covers():
    assert lattice(2).covers == ((0, 1), (0, 2), (1, 3), (2, 3))
    lat = lattice(3)
    leq = lat.leq
    for lo, hi in lat.covers:
        assert leq[hi, lo] and lat.rank[hi] == lat.rank[lo] + 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [("{1}{23}", ((1,), (2, 3))), ("{23}{1}", ((1,), (2, 3))), ("{12}", ((1, 2),)), (" {3}{12} ", ((3,), (1, 2)))],
)
def test_parse_name(text, expected):
    assert parse_name(text) == expected


@pytest.mark.parametrize("bad", ["", "{}", "{1}{12}", "1}{2", "{1}{1}", "{11}", "{0}", "{a}", "{1}2"])
def test_parse_name_rejects(bad):
    with pytest.raises(ValueError):
        parse_name(bad)


def test_antichain_name():
    assert antichain_name([[2, 3], [1]]) == "{1}{23}"
    assert antichain_name([(3,), (2, 1)]) == "{3}{12}"
    with pytest.raises(ValueError, match="not an antichain"):
        antichain_name([(1,), (1, 2)])
    with pytest.raises(ValueError):
        antichain_name([])
    with pytest.raises(ValueError):
        antichain_name([()])
    with pytest.raises(TypeError):
        antichain_name([1, 2])
    with pytest.raises(TypeError):
        parse_name(12)


def test_arrays_are_read_only():
    lat = lattice(2)
    with pytest.raises(ValueError):
        lat.upsets[0] = 0
    assert sp.issparse(lat.mobius) and lat.mobius.format == "csr"
