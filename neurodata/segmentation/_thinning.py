"""Lee's 3D thinning, visiting only object voxels (numba).

Lee, Kashyap & Chu (1994) thin a binary volume by sweeping over the six
border directions (in the order -y, +y, +x, -x, +z, -z, as ImageJ's
Skeletonize3D and :func:`skimage.morphology.skeletonize` do) until a full round
deletes nothing.  In each sweep the candidates are the object voxels whose
neighbour in the sweep direction is background and that are

* not end points (exactly one object voxel among the 26 neighbours),
* Euler invariant: deleting them keeps the Euler characteristic of the
  (26, 6) topology, and
* simple: their object neighbours form one 26-connected set;

then the candidates are re-checked one by one in raster order, and deleted if
their neighbours are still one 26-connected set.

scikit-image scans the whole image in every sweep; here the sweeps run over
the list of remaining object voxels (kept in raster order), which gives the
same candidates in the same order, so the result is identical (the tests
compare the two) while the cost scales with the object, not with its
bounding box.

The Euler test counts the cells of the voxel's closed unit cube that no other
object voxel of the neighbourhood shares: deleting the voxel changes the
Euler characteristic by  #vertices - #edges + #faces - 1  of those unshared
cells, and the voxel is Euler invariant when that is 0.
"""

from __future__ import annotations

import itertools

import numpy as np

try:
    from numba import njit

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only without numba
    HAVE_NUMBA = False

    def njit(*args, **kwargs):  # type: ignore[no-redef]
        """Stand-in decorator: the kernels are not used without numba."""
        return lambda f: f


__all__ = ["HAVE_NUMBA", "thin_coordinates"]

OFFSETS = np.array(list(itertools.product((-1, 0, 1), repeat=3)), dtype=np.int64)  # (27, 3)
CENTER = 13


def _index(d) -> int:
    return (d[0] + 1) * 9 + (d[1] + 1) * 3 + (d[2] + 1)


def _cell_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Neighbour indices sharing each vertex (8 x 7), edge (12 x 3) and face (6,)."""
    verts = []
    for s in itertools.product((-1, 1), repeat=3):
        verts.append([_index(d) for d in itertools.product(*[(0, v) for v in s])
                      if d != (0, 0, 0)])
    edges = []
    for axis in range(3):
        others = [a for a in range(3) if a != axis]
        for s in itertools.product((-1, 1), repeat=2):
            shared = []
            for d2 in itertools.product((0, s[0]), (0, s[1])):
                if d2 == (0, 0):
                    continue
                d = [0, 0, 0]
                d[others[0]], d[others[1]] = d2
                shared.append(_index((d[0], d[1], d[2])))
            edges.append(shared)
    faces = []
    for axis in range(3):
        for sign in (-1, 1):
            f = [0, 0, 0]
            f[axis] = sign
            faces.append(_index(f))
    return np.array(verts), np.array(edges), np.array(faces)


def _adjacency() -> tuple[np.ndarray, np.ndarray]:
    """For each of the 27 positions, its 26-adjacent positions (center excluded)."""
    nbrs = np.full((27, 26), -1, dtype=np.int64)
    count = np.zeros(27, dtype=np.int64)
    for i in range(27):
        for j in range(27):
            if i == j or CENTER in (i, j):
                continue
            if np.abs(OFFSETS[i] - OFFSETS[j]).max() == 1:
                nbrs[i, count[i]] = j
                count[i] += 1
    return nbrs, count


VERTS, EDGES, FACES = _cell_tables()
NBRS, NCOUNT = _adjacency()
#: sweep directions (dz, dy, dx) in the order of ImageJ / scikit-image
BORDERS = np.array([[0, -1, 0], [0, 1, 0], [0, 0, 1], [0, 0, -1], [1, 0, 0], [-1, 0, 0]],
                   dtype=np.int64)


@njit(cache=True)
def _neighbourhood(img, z, y, x, out):
    k = 0
    for dz in range(-1, 2):
        for dy in range(-1, 2):
            for dx in range(-1, 2):
                out[k] = img[z + dz, y + dy, x + dx]
                k += 1

@njit(cache=True)
def _euler_invariant(nb, verts, edges, faces):
    delta = -1
    for v in range(8):
        free = True
        for j in range(7):
            if nb[verts[v, j]]:
                free = False
                break
        if free:
            delta += 1
    for e in range(12):
        if not (nb[edges[e, 0]] or nb[edges[e, 1]] or nb[edges[e, 2]]):
            delta -= 1
    for f in range(6):
        if not nb[faces[f]]:
            delta += 1
    return delta == 0

@njit(cache=True)
def _one_component(nb, nbrs, ncount, seen, stack):
    """At most one 26-connected set among the object neighbours (center excluded)."""
    for i in range(27):
        seen[i] = False
    components = 0
    for i in range(27):
        if i == 13 or not nb[i] or seen[i]:
            continue
        components += 1
        if components > 1:
            return False
        top = 0
        stack[top] = i
        seen[i] = True
        while top >= 0:
            cur = stack[top]
            top -= 1
            for t in range(ncount[cur]):
                j = nbrs[cur, t]
                if nb[j] and not seen[j]:
                    seen[j] = True
                    top += 1
                    stack[top] = j
    return True

@njit(cache=True)
def _thin(img, zs, ys, xs, borders, n_borders, verts, edges, faces, nbrs, ncount):
    n = zs.size
    alive = np.ones(n, dtype=np.bool_)
    cand = np.empty(n, dtype=np.int64)
    nb = np.zeros(27, dtype=np.uint8)
    seen = np.zeros(27, dtype=np.bool_)
    stack = np.zeros(64, dtype=np.int64)
    unchanged = 0
    while unchanged < n_borders:
        unchanged = 0
        for b in range(n_borders):
            dz, dy, dx = borders[b, 0], borders[b, 1], borders[b, 2]
            m = 0
            for i in range(n):
                if not alive[i]:
                    continue
                z, y, x = zs[i], ys[i], xs[i]
                if img[z + dz, y + dy, x + dx] != 0:
                    continue
                _neighbourhood(img, z, y, x, nb)
                total = 0
                for k in range(27):
                    total += nb[k]
                if total == 2:
                    continue
                if not _euler_invariant(nb, verts, edges, faces):
                    continue
                if not _one_component(nb, nbrs, ncount, seen, stack):
                    continue
                cand[m] = i
                m += 1
            changed = False
            for j in range(m):
                i = cand[j]
                _neighbourhood(img, zs[i], ys[i], xs[i], nb)
                if _one_component(nb, nbrs, ncount, seen, stack):
                    img[zs[i], ys[i], xs[i]] = 0
                    alive[i] = False
                    changed = True
            if not changed:
                unchanged += 1
    return alive


def thin_coordinates(mask: np.ndarray) -> tuple[np.ndarray, ...]:
    """Skeleton voxel coordinates of a 3D binary ``mask`` (Lee 1994 thinning).

    Identical to ``np.nonzero(skimage.morphology.skeletonize(mask))`` for 3D
    input; falls back to scikit-image when numba is missing.

    Examples
    --------
    >>> mask = np.zeros((5, 5, 9), bool)
    >>> mask[1:4, 1:4, 1:8] = True
    >>> z, y, x = thin_coordinates(mask)
    >>> z.tolist(), y.tolist(), x.tolist()
    ([2, 2, 2, 2, 2], [2, 2, 2, 2, 2], [2, 3, 4, 5, 6])
    """
    if not HAVE_NUMBA:
        from skimage.morphology import skeletonize

        return np.nonzero(skeletonize(mask))
    img = np.pad(mask.astype(np.uint8, copy=False), 1)
    zs, ys, xs = (a.astype(np.int64) for a in np.nonzero(img))
    n_borders = 4 if img.shape[0] == 3 else 6
    alive = _thin(img, zs, ys, xs, BORDERS, n_borders, VERTS, EDGES, FACES, NBRS, NCOUNT)
    return zs[alive] - 1, ys[alive] - 1, xs[alive] - 1
