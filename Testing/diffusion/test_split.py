"""Splitting a scheme into uniform subsets (against MRtrix's dirsplit) and the b=0 layouts."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from support import require_tool

from GradientToolsLib import multishell_scheme
from GradientToolsLib.diffusion.energy import energy_half
from GradientToolsLib.diffusion.multishell import generate_scheme
from GradientToolsLib.diffusion.order import place_b0
from GradientToolsLib.diffusion.scheme import GradientScheme
from GradientToolsLib.diffusion.split import split_scheme
from GradientToolsLib.errors import GradientToolsError


def _layout(mask) -> str:
    return "".join("0" if b else "." for b in mask)


@pytest.mark.parametrize("count, parts", [(60, 2), (64, 4)])
def test_split_beats_dirsplit_on_its_own_measure(tmp_path, count, parts):
    """dirsplit keeps the split with the lowest highest-part energy among random swaps; ours is lower."""
    dirgen, dirsplit = require_tool("dirgen"), require_tool("dirsplit")
    subprocess.run([dirgen, str(count), str(tmp_path / "d.txt"), "-cartesian", "-quiet"], check=True)
    directions = np.loadtxt(tmp_path / "d.txt")
    outs = [str(tmp_path / f"o{k}.txt") for k in range(parts)]
    subprocess.run([dirsplit, str(tmp_path / "d.txt"), *outs, "-cartesian", "-quiet",
                    "-permutations", "100000"], check=True)
    theirs = max(energy_half(np.loadtxt(o)) for o in outs)
    groups = split_scheme(GradientScheme(np.full(count, 1000.0), directions), parts)
    ours = max(energy_half(directions[g]) for g in groups)
    assert sorted(np.concatenate(groups).tolist()) == list(range(count))
    assert {g.size for g in groups} == {count // parts}
    assert ours < theirs


def test_split_deals_every_shell_and_the_b0s(rng):
    scheme = multishell_scheme({1000: 15, 2000: 31}, b0=5, b0_spread=True, seed=3)
    groups = split_scheme(scheme, 3)
    assert sorted(np.concatenate(groups).tolist()) == list(range(scheme.n))
    for g in groups:
        part = scheme.subset(g)
        assert part.bvals[0] == 0  # each run starts on a b=0
        shells = part.shell_indices()
        assert [idx.size for idx in shells.values()] in ([5, 10], [5, 11])
        assert len(part.b0_indices()) in (1, 2)
        assert np.all(np.diff(g[1:]) > 0)  # acquisition order kept (after the leading b=0)
    sizes = [scheme.subset(g).shell_indices()[2000].size for g in groups]
    assert sorted(sizes) == [10, 10, 11]
    # every part is far better than a random subset of the same size
    random = scheme.shell_indices()[1000][rng.permutation(15)[:5]]
    assert max(energy_half(scheme.subset(g).shell_directions()[1000]) for g in groups) < \
        energy_half(scheme.bvecs[random])


def test_split_refuses_what_cannot_be_split():
    s = GradientScheme([0, 1000, 1000, 2000], [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    with pytest.raises(GradientToolsError, match="smallest shell has 1"):
        split_scheme(s, 2)
    with pytest.raises(GradientToolsError, match="at least 2"):
        split_scheme(s, 1)


# ------------------------------------------------------------------------------------- b=0 layout
@pytest.mark.parametrize("args, kwargs, expected", [
    ((10, 3), {}, "000.........."),
    ((30, 3, 10), {}, "0" + "." * 10 + "0" + "." * 10 + "0" + "." * 10),  # the old behaviour where it fits
    ((10, 4), {"spread": True}, "0..0...0..0..."),
    ((10, 4), {"spread": True, "end": True}, "0...0...0....0"),
    ((10, 4), {"head": 2, "end": True}, "00.....0.....0"),
    ((10, 5), {"head": 3}, "000...0...0...."),
    ((10, 3), {"every": 3, "end": True}, "0...0.......0"),
    ((0, 2), {}, "00"),
    ((4, 0), {}, "...."),
])
def test_b0_layouts(args, kwargs, expected):
    assert _layout(place_b0(*args, **kwargs)) == expected


def test_b0s_never_pile_up_at_the_end():
    with pytest.raises(GradientToolsError, match="do not fit one every 15"):
        place_b0(30, 6, 15)
    with pytest.raises(GradientToolsError, match="head of 4"):
        place_b0(10, 3, head=4)
    for weighted in range(1, 40):
        for b0 in range(2, 8):
            gaps = np.diff(np.flatnonzero(place_b0(weighted, b0, spread=True)))
            assert gaps.max() - gaps.min() <= 1 or weighted < b0  # even spacing


def test_layout_options_reach_the_designed_scheme():
    s = multishell_scheme({1000: 8, 2000: 12}, b0=4, b0_head=2, b0_end=True, seed=1)
    assert _layout(s.bvals == 0) == "00" + "." * 10 + "0" + "." * 10 + "0"
    g = generate_scheme("1000:8, 2000:12", b0_count=4, b0_placement="spread", b0_end=True, seed=1)
    assert g.bvals[0] == 0 and g.bvals[-1] == 0 and g.frame == "scanner"
    with pytest.raises(GradientToolsError, match="do not fit"):
        multishell_scheme({1000: 8}, b0=5, b0_every=4)
