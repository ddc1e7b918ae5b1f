"""Small blocks of a volume with their renderer-unit central differences: the noise estimator's input.

The volume is cut into a grid of blocks of ``block``^3 voxels (thinner along axes with fewer voxels).
When the grid has at most ``max_blocks`` blocks all of them are read (the result then does not depend
on the seed); otherwise ``max_blocks`` of them are drawn at random without replacement (fixed seed).
Each block is read with a one-voxel halo by one fancy-indexing call, so only those voxels are touched
(a memory-mapped or chunked array is read there and nowhere else) and the cost is set by the number
of blocks, not by the volume. Outside the volume the halo repeats the edge voxel, as the renderer's
texture clamp does.

Per voxel the sample holds its value, the central differences ``0.5 * (F[a+1] - F[a-1])`` along K, J, I
(scalar units per voxel step: the renderer's own gradient), whether it is selected (inside ``mask``
and ``visible_range``) and ``ties``: how many of its six neighbours equal it exactly (padding, clipped
air, noise-free or quantised smooth data).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np

from .._shared.validate import check_int, check_mask, check_range, check_volume_like
from ..errors import GradientToolsError

#: edge of the blocks, voxels: small, so that many of them fit inside homogeneous tissue
BLOCK = 4
#: blocks read at most (4**3 voxels each: about 260 000 voxels and their halos)
MAX_BLOCKS = 1024


@dataclass
class BlockSample:
    """Voxels of the blocks read, with their central differences (renderer units).

    Attributes
    ----------
    values : (nb, n) float32 (float64 for 32- and 64-bit input)
        Voxel values (n voxels per block).
    diffs : (3, nb, n), the type of ``values``
        Central differences per voxel step along the array axes K, J, I.
    selected : (nb, n) bool
        Inside the mask and the visible range.
    ties : (nb, n) uint8
        How many of the six neighbours equal the voxel exactly.
    fraction : float
        Share of the volume's voxels the blocks hold.
    blocks_examined : int
        Blocks read.
    degenerate_axes : 3 bools
        Axes K, J, I with a single voxel (their differences are 0 by construction).
    integer : bool
        Whether the volume holds integers (its values are quantised).
    """

    values: np.ndarray
    diffs: np.ndarray
    selected: np.ndarray
    ties: np.ndarray
    fraction: float
    blocks_examined: int
    degenerate_axes: Tuple[bool, bool, bool] = (False, False, False)
    integer: bool = False

    @property
    def magnitudes(self) -> np.ndarray:
        """Renderer-unit gradient magnitude of every sampled voxel, shape (nb, n)."""
        d = self.diffs
        return np.sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2])


def grid_block_count(shape, block: int = BLOCK) -> int:
    """Blocks in the grid of a volume of ``shape`` (K, J, I): all :func:`sample_blocks` can read."""
    edge = [max(1, min(block, n)) for n in shape]
    return int(np.prod([max(1, n // b) for n, b in zip(shape, edge)]))


def _block_origins(shape, edge, max_blocks: int, seed: int, phase=(0, 0, 0)):
    """Origins (K, J, I arrays) of the grid blocks read: all of them, or a random subset.

    ``phase`` shifts the grid by that many voxels per axis (less than a block; ignored along axes
    too short for it), so that several phases of one volume sample different block boundaries."""
    phase = [p if n >= b + p else 0 for p, n, b in zip(phase, shape, edge)]
    counts = [max(1, (n - p) // b) for n, b, p in zip(shape, edge, phase)]
    # centre the grid, so that a crop does not move the blocks relative to the anatomy much
    offsets = [p + (n - p - c * b) // 2 for n, c, b, p in zip(shape, counts, edge, phase)]
    total = int(np.prod(counts))
    if total <= max_blocks:
        ids = np.arange(total)
    else:
        ids = np.sort(np.random.default_rng(seed).choice(total, size=max_blocks, replace=False))
    grid = np.unravel_index(ids, counts)
    return [o + g * b for o, g, b in zip(offsets, grid, edge)], total


def _gather(data, index) -> np.ndarray:
    """data[k, j, i] for the broadcast index vectors (nb, a) of each axis: (nb, ak, aj, ai).

    A C-contiguous array (or memory map) is read by one ``take`` of linear indices (several times
    faster than three-axis fancy indexing); any other array-like by fancy indexing."""
    k, j, i = index
    if isinstance(data, np.ndarray) and data.flags.c_contiguous:
        _, nj, ni = data.shape
        linear = (k[:, :, None, None] * nj + j[:, None, :, None]) * ni + i[:, None, None, :]
        return np.take(data.reshape(-1), linear)
    return np.asarray(data[k[:, :, None, None], j[:, None, :, None], i[:, None, None, :]])


def sample_blocks(array, *, mask=None, visible_range: Optional[Sequence[float]] = None, block: int = BLOCK,
                  max_blocks: int = MAX_BLOCKS, seed: int = 0, phase: Sequence[int] = (0, 0, 0)
                  ) -> BlockSample:
    """Read blocks of the volume and their renderer-unit central differences.

    Parameters
    ----------
    array : array (K, J, I)
        The scalar volume (not modified); a numpy array, a memory map or any array supporting
        numpy's fancy indexing.
    mask : bool array (K, J, I), optional
        Only voxels where it is true are selected.
    visible_range : (low, high), optional
        Only voxels with values in [low, high] are selected.
    block : int
        Block edge in voxels (shorter along axes with fewer voxels).
    max_blocks : int
        Blocks read at most; all blocks of the grid when it has no more.
    seed : int
        Seed of the draw when not all blocks are read.
    phase : 3 ints
        Shift of the block grid along K, J, I, in voxels (0 to block - 1).

    Returns
    -------
    BlockSample
    """
    data = check_volume_like(array)
    mask = check_mask(mask, data.shape)
    visible = check_range(visible_range)
    block = check_int(block, "block", minimum=2)
    max_blocks = check_int(max_blocks, "max_blocks", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    shape = data.shape
    edge = [max(1, min(block, n)) for n in shape]
    origins, total = _block_origins(shape, edge, max_blocks, seed, tuple(int(p) % block for p in phase))
    nb = origins[0].size
    # halo index vectors per block (edge replicated), broadcast into one gather
    index = [np.clip(o[:, None] + np.arange(-1, b + 1)[None, :], 0, n - 1)
             for o, b, n in zip(origins, edge, shape)]
    xs = _gather(data, index).astype(np.float64 if data.dtype.itemsize > 2 else np.float32, copy=False)
    if data.dtype.kind == "f" and not np.isfinite(xs).all():
        raise GradientToolsError("the volume contains NaN or infinite values")
    centre = xs[:, 1:-1, 1:-1, 1:-1]
    neighbours = ((xs[:, 2:, 1:-1, 1:-1], xs[:, :-2, 1:-1, 1:-1]),
                  (xs[:, 1:-1, 2:, 1:-1], xs[:, 1:-1, :-2, 1:-1]),
                  (xs[:, 1:-1, 1:-1, 2:], xs[:, 1:-1, 1:-1, :-2]))
    with np.errstate(over="ignore", invalid="ignore"):
        diffs = np.stack([0.5 * (after - before) for after, before in neighbours]).reshape(3, nb, -1)
    if not np.isfinite(diffs).all():
        raise GradientToolsError("the differences of the volume's values overflow (values near the "
                                 "largest float): rescale the volume")
    ties = np.zeros(centre.shape, dtype=np.uint8)
    for pair in neighbours:
        for neighbour in pair:
            ties += neighbour == centre
    selected = np.ones(centre.shape, dtype=bool)
    if mask is not None:
        inner = [np.clip(o[:, None] + np.arange(b)[None, :], 0, n - 1)
                 for o, b, n in zip(origins, edge, shape)]
        selected &= mask[inner[0][:, :, None, None], inner[1][:, None, :, None], inner[2][:, None, None, :]]
    if visible is not None:
        selected &= (centre >= visible[0]) & (centre <= visible[1])
    n = int(np.prod(edge))
    return BlockSample(
        values=centre.reshape(nb, n),
        diffs=diffs,
        selected=selected.reshape(nb, n),
        ties=ties.reshape(nb, n),
        fraction=nb * n / float(np.prod(shape)),
        blocks_examined=int(nb),
        degenerate_axes=tuple(s == 1 for s in shape),
        integer=data.dtype.kind in "biu",
    )


def concatenate(samples: Sequence[BlockSample]) -> BlockSample:
    """One sample holding the blocks of several samples of the same volume (e.g. several phases)."""
    first = samples[0]
    if len(samples) == 1:
        return first
    return BlockSample(
        values=np.concatenate([s.values for s in samples]),
        diffs=np.concatenate([s.diffs for s in samples], axis=1),
        selected=np.concatenate([s.selected for s in samples]),
        ties=np.concatenate([s.ties for s in samples]),
        fraction=sum(s.fraction for s in samples),
        blocks_examined=sum(s.blocks_examined for s in samples),
        degenerate_axes=first.degenerate_axes,
        integer=first.integer,
    )
