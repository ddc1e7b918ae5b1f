"""Random blocks of a volume with their renderer-unit central differences (the noise estimator's input).

Blocks of ``block``^3 voxels (smaller in small volumes) are drawn at random (fixed seed) over the
volume; only their voxels and a one-voxel halo are read, so the cost does not grow with the
volume. Voxels outside ``mask`` or ``visible_range`` are marked unselected; ``ties`` counts how
many of the six neighbours equal each voxel exactly (padding, clipped air, quantised smooth data).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence, Tuple

import numpy as np

from .._shared.validate import check_mask, check_range, check_volume
from ..errors import GradientToolsError

#: default edge of the sampling blocks, voxels
BLOCK = 8
#: default number of blocks analysed (8**3 voxels each)
MAX_BLOCKS = 128
#: a block is "flat" (noise-free, padding or quantised smooth data) when this share of its voxels'
#: neighbours are exactly equal to them (integer noise of std 0.5 gives about half)
FLAT_SHARE = 0.6


@dataclass
class BlockSample:
    """Voxels of randomly drawn blocks with their central differences (renderer units).

    ``values`` (nb, n) float32 voxel values; ``diffs`` (3, nb, n) float32 central differences along
    K, J, I; ``selected`` (nb, n) bool: inside the mask and the visible range; ``ties`` (nb, n)
    uint8: how many of the six neighbours equal the voxel exactly; ``halo_blocks`` (nb, bk+2, bj+2,
    bi+2) float32: the blocks with their one-voxel halo. ``fraction`` is the share of the volume's voxels the
    blocks hold.
    """

    values: np.ndarray
    diffs: np.ndarray
    selected: np.ndarray
    ties: np.ndarray
    halo_blocks: np.ndarray
    fraction: float
    blocks_examined: int
    degenerate_axes: Tuple[bool, bool, bool] = field(default=(False, False, False))

    @property
    def magnitudes(self) -> np.ndarray:
        """Renderer-unit gradient magnitude of every sampled voxel, shape (nb, n)."""
        d = self.diffs
        return np.sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2])


def sample_blocks(array, *, mask=None, visible_range: Optional[Sequence[float]] = None, block: int = BLOCK,
                  max_blocks: int = MAX_BLOCKS, seed: int = 0) -> BlockSample:
    """Read random blocks of the volume and their renderer-unit central differences.

    Parameters
    ----------
    array : numpy array (K, J, I)
        The scalar volume (not modified).
    mask : bool array (K, J, I), optional
        Only voxels where it is true are used.
    visible_range : (low, high), optional
        Only voxels with values in [low, high] are used (e.g. where the scalar opacity is non-zero).
    block : int
        Block edge in voxels (shorter along axes with fewer voxels).
    max_blocks : int
        Blocks wanted with enough usable voxels; more are read (up to 8 times as many) when the mask
        or range leaves too few usable voxels in the first ones.
    seed : int
        Seed of the block draw (the same inputs give the same sample).

    Returns
    -------
    BlockSample
    """
    data = check_volume(array)
    mask = check_mask(mask, data.shape)
    visible = check_range(visible_range)
    shape = data.shape
    block = int(block)
    # small volumes: smaller blocks, so that there are enough of them to rank
    while block > 4 and np.prod([max(1, n // min(block, n)) for n in shape]) < 64:
        block //= 2
    edge = [max(1, min(block, n)) for n in shape]
    # blocks tile the interior when there is room, so that their halos need no edge replication
    counts = [max(1, (n - 2) // b) if n >= b + 2 else max(1, n // b) for n, b in zip(shape, edge)]
    offsets = [1 + (n - 2 - c * b) // 2 if n >= b + 2 else (n - c * b) // 2
               for n, c, b in zip(shape, counts, edge)]
    total = int(np.prod(counts))
    rng = np.random.default_rng(seed)
    order = rng.permutation(total) if total <= 4 * 8 * max_blocks else \
        rng.choice(total, size=8 * max_blocks, replace=False)
    per_block = int(np.prod(edge))
    # halo index vectors (edge replicated, as the renderer's texture clamp) per block origin
    halo = [np.arange(-1, b + 1) for b in edge]

    chunks_x, chunks_m = [], []
    used = 0
    examined = 0
    batch = max(1, int(max_blocks))
    while examined < min(order.size, 8 * batch) and used < batch:
        ids = order[examined:examined + batch]
        examined += ids.size
        ks, js, is_ = np.unravel_index(ids, counts)
        xs = np.empty((ids.size,) + tuple(b + 2 for b in edge), dtype=np.float32)
        ms = np.ones((ids.size,) + tuple(edge), dtype=bool) if mask is not None else None
        for n, (kb, jb, ib) in enumerate(zip(ks.tolist(), js.tolist(), is_.tolist())):
            origin = (offsets[0] + kb * edge[0], offsets[1] + jb * edge[1], offsets[2] + ib * edge[2])
            if all(o >= 1 and o + b + 1 <= size for o, b, size in zip(origin, edge, shape)):
                xs[n] = data[origin[0] - 1:origin[0] + edge[0] + 1, origin[1] - 1:origin[1] + edge[1] + 1,
                             origin[2] - 1:origin[2] + edge[2] + 1]
            else:
                index = [np.clip(o + h, 0, size - 1) for o, h, size in zip(origin, halo, shape)]
                xs[n] = data[np.ix_(*index)]
            if ms is not None:
                ms[n] = mask[origin[0]:origin[0] + edge[0], origin[1]:origin[1] + edge[1],
                             origin[2]:origin[2] + edge[2]]
        chunks_x.append(xs)
        sel, ties = _valid(xs, ms, visible)
        chunks_m.append((sel, ties))
        usable, flat = usable_and_flat(sel.reshape(ids.size, -1), ties.reshape(ids.size, -1))
        used += int(np.count_nonzero(usable & ~flat))
    xs = np.concatenate(chunks_x)
    selected = np.concatenate([c[0] for c in chunks_m])
    ties = np.concatenate([c[1] for c in chunks_m])
    if data.dtype.kind == "f" and not np.isfinite(xs).all():
        raise GradientToolsError("the volume contains NaN or infinite values")
    c = xs[:, 1:-1, 1:-1, 1:-1]
    diffs = np.stack([
        0.5 * (xs[:, 2:, 1:-1, 1:-1] - xs[:, :-2, 1:-1, 1:-1]),
        0.5 * (xs[:, 1:-1, 2:, 1:-1] - xs[:, 1:-1, :-2, 1:-1]),
        0.5 * (xs[:, 1:-1, 1:-1, 2:] - xs[:, 1:-1, 1:-1, :-2]),
    ]).reshape(3, xs.shape[0], -1)
    return BlockSample(
        values=c.reshape(xs.shape[0], -1),
        halo_blocks=xs,
        diffs=diffs,
        selected=selected.reshape(xs.shape[0], -1),
        ties=ties.reshape(xs.shape[0], -1),
        fraction=xs.shape[0] * per_block / float(data.size),
        blocks_examined=int(examined),
        degenerate_axes=tuple(n == 1 for n in shape),
    )


def _valid(xs: np.ndarray, ms: Optional[np.ndarray], visible) -> Tuple[np.ndarray, np.ndarray]:
    """(selected, ties) of gathered blocks with halo ``xs``.

    ``selected``: inside the mask and the visible range; ``ties``: number (uint8, 0..6) of the six
    neighbours exactly equal to the voxel.
    """
    c = xs[:, 1:-1, 1:-1, 1:-1]
    ties = (xs[:, 2:, 1:-1, 1:-1] == c).view(np.uint8).copy()
    for neighbour in (xs[:, :-2, 1:-1, 1:-1], xs[:, 1:-1, 2:, 1:-1], xs[:, 1:-1, :-2, 1:-1],
                      xs[:, 1:-1, 1:-1, 2:], xs[:, 1:-1, 1:-1, :-2]):
        ties += (neighbour == c).view(np.uint8)
    selected = np.ones(c.shape, dtype=bool) if ms is None else ms.copy()
    if visible is not None:
        selected &= (c >= visible[0]) & (c <= visible[1])
    return selected, ties


def usable_and_flat(selected: np.ndarray, ties: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Per block (rows of the (nb, n) arrays): enough selected voxels to fit (a quarter, at least
    16), and, among those, flat blocks (at least :data:`FLAT_SHARE` of the selected voxels'
    neighbours equal them exactly)."""
    n_selected = selected.sum(axis=1)
    usable = n_selected >= max(16, selected.shape[1] // 4)
    flat = usable & (np.where(selected, ties, 0).sum(axis=1) >= 6 * FLAT_SHARE * n_selected)
    return usable, flat
