"""Numba kernels of the leapfrog solver.

One leapfrog step is ``new = A cur + W (sum of the 4 neighbours of cur) - Bc old`` at every
site, with ``A = (2 - dt^2 m^2 - 4 w) / (1 + gamma dt/2)``, ``W = w / (1 + gamma dt/2)``,
``Bc = (1 - gamma dt/2) / (1 + gamma dt/2)`` and ``w = (c dt / a)^2``.  The new level
overwrites the old one in place (each site reads only its own old value), so a run needs
two arrays, and each step streams 24 bytes per site (read cur, read and write old).

``leapfrog_blocked`` adds temporal blocking: the rows are cut into blocks, and every
block is advanced ``T`` steps at a time in a small ring buffer of ``T + 3`` rows that
stays in cache (a skewed wavefront: at sweep position ``it`` the block computes level
``k`` of row ``it - k`` for ``k = 1..T``).  Each block reads a halo of ``T`` rows on each
side, so blocks are independent and run in parallel; the halo is filled from the
neighbouring rows (periodic), or from the even (Neumann) or odd (Dirichlet) reflection of
the field, which the lattice equation preserves.  Memory traffic drops from 24 to about
``32 / T`` bytes per site per step, and the arithmetic per site is identical to the
unblocked kernel, so both give bit-identical results.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, inline="always")
def _source_row(g, n, bc):
    """Row of the field that extended row ``g`` mirrors, and its sign (0: a zero row)."""
    if bc == 0:
        return g % n, 1.0
    if bc == 1:
        h = g % (2 * n)
        if h >= n:
            h = 2 * n - 1 - h
        return h, 1.0
    h = (g + 1) % (2 * n + 2) - 1
    if h == -1 or h == n:
        return 0, 0.0
    if h < n:
        return h, 1.0
    return 2 * n - h, -1.0


@njit(cache=True, inline="always")
def _row_update(o, c0, cm, cp, a, b, w, ny, bcy):
    """Overwrite row ``o`` (level n-1) with level n+1 from rows ``cm, c0, cp`` (level n)."""
    for j in range(1, ny - 1):
        o[j] = a * c0[j] + w * (cm[j] + cp[j] + c0[j - 1] + c0[j + 1]) - b * o[j]
    if bcy == 0:
        l0 = c0[ny - 1]
        rn = c0[0]
    elif bcy == 1:
        l0 = c0[0]
        rn = c0[ny - 1]
    else:
        l0 = 0.0
        rn = 0.0
    o[0] = a * c0[0] + w * (cm[0] + cp[0] + l0 + c0[1]) - b * o[0]
    o[ny - 1] = a * c0[ny - 1] + w * (cm[ny - 1] + cp[ny - 1] + c0[ny - 2] + rn) - b * o[ny - 1]


@njit(cache=True)
def leapfrog_serial(cur, old, a, b, w, nsteps, bcx, bcy):
    """``nsteps`` unblocked steps in place; returns True when the levels ended swapped.

    After the call the newest level is in ``old`` if the return value is True, else in
    ``cur`` (the arrays swap roles every step).
    """
    nx, ny = cur.shape
    zero = np.zeros(ny)
    swapped = False
    for _ in range(nsteps):
        for i in range(nx):
            if i > 0:
                cm = cur[i - 1]
            elif bcx == 0:
                cm = cur[nx - 1]
            elif bcx == 1:
                cm = cur[0]
            else:
                cm = zero
            if i < nx - 1:
                cp = cur[i + 1]
            elif bcx == 0:
                cp = cur[0]
            elif bcx == 1:
                cp = cur[nx - 1]
            else:
                cp = zero
            _row_update(old[i], cur[i], cm, cp, a, b, w, ny, bcy)
        cur, old = old, cur
        swapped = not swapped
    return swapped


@njit(cache=True)
def leapfrog_forced_step(cur, old, a, b, w, force, bcx, bcy):
    """One unblocked step with an additive term: ``old <- step(cur, old) + force``."""
    leapfrog_serial(cur, old, a, b, w, 1, bcx, bcy)
    nx, ny = cur.shape
    for i in range(nx):
        for j in range(ny):
            old[i, j] += force[i, j]


@njit(parallel=True, cache=True)
def leapfrog_blocked(cur, old, out_cur, out_old, a, b, w, T, bcx, bcy, block):
    """Advance ``T`` steps from ``(cur, old)`` into ``(out_cur, out_old)``, blocks in parallel."""
    nx, ny = cur.shape
    nblk = (nx + block - 1) // block
    ring_rows = T + 3
    for blk in prange(nblk):
        r0 = blk * block
        r1 = min(nx, r0 + block)
        n_local = r1 - r0 + 2 * T
        ring = np.empty((2, ring_rows, ny))
        for it in range(n_local + T):
            if it < n_local:
                src, sign = _source_row(r0 - T + it, nx, bcx)
                slot = it % ring_rows
                for j in range(ny):
                    ring[1, slot, j] = sign * old[src, j]
                    ring[0, slot, j] = sign * cur[src, j]
            for k in range(1, T + 1):
                row = it - k
                if row < k or row > n_local - 1 - k:
                    continue
                p = k & 1
                _row_update(ring[p, row % ring_rows], ring[1 - p, row % ring_rows],
                            ring[1 - p, (row - 1) % ring_rows], ring[1 - p, (row + 1) % ring_rows],
                            a, b, w, ny, bcy)
                if k == T:
                    g = r0 - T + row
                    if r0 <= g < r1:
                        for j in range(ny):
                            out_cur[g, j] = ring[p, row % ring_rows, j]
                            out_old[g, j] = ring[1 - p, row % ring_rows, j]


@njit(cache=True)
def ou_modes(phi, vel, coef, z, out_phi, out_vel):
    """Advance every mode through ``len(z)`` exact stochastic transitions, in place.

    ``coef`` rows are ``Phi11, Phi12, Phi21, Phi22, L11, L21, L22`` (transition and the
    Cholesky factor of the step's noise covariance); ``z`` is ``(steps, 2, n_modes)``.
    """
    n = phi.size
    for s in range(z.shape[0]):
        for k in range(n):
            z1 = z[s, 0, k]
            p = coef[0, k] * phi[k] + coef[1, k] * vel[k] + coef[4, k] * z1
            v = coef[2, k] * phi[k] + coef[3, k] * vel[k] + coef[5, k] * z1 + coef[6, k] * z[s, 1, k]
            phi[k] = p
            vel[k] = v
            out_phi[s, k] = p
            out_vel[s, k] = v


@njit(cache=True)
def laplacian5(u, bc):
    """Unscaled five-point Laplacian of a 2D array (real or complex) under boundary ``bc``."""
    nx, ny = u.shape
    out = np.zeros_like(u)
    zero = np.zeros(ny, dtype=u.dtype)
    for i in range(nx):
        if i > 0:
            cm = u[i - 1]
        elif bc == 0:
            cm = u[nx - 1]
        elif bc == 1:
            cm = u[0]
        else:
            cm = zero
        if i < nx - 1:
            cp = u[i + 1]
        elif bc == 0:
            cp = u[0]
        elif bc == 1:
            cp = u[nx - 1]
        else:
            cp = zero
        _row_update(out[i], u[i], cm, cp, -4.0, 0.0, 1.0, ny, bc)
    return out
