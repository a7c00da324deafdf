"""Conventions of published analyses of the Benucci et al. (2013) data, and their file layout.

Facts taken from the first author's public analysis code of these data
(``lyndond/frame_whitening``, ``figures/benucci_carandini.py``), reimplemented:

* the session-level file (``BenucciTuningData.mat``) holds ``resps``: one
  array per session of 13 preferred-orientation bins x 21 stimulus
  orientations x [uniform, biased], both orientation grids
  ``linspace(-90, 90)`` (the ends are the same orientation);
* the adapter probability differs per session; the 11 published sessions had
  50, 35, 35, 50, 50, 50, 50, 40, 40, 30 and 30 % (:data:`BENUCCI_P_ADAPTER`);
* the biased ensemble puts ``p`` on three 9-degree bins, 50/25/25 over the
  adapter's bin and its two neighbours, and the other 18 of the 21 entries of
  the closed grid share ``1 - p`` (:func:`benucci_prior`);
* each row is normalised by its unadapted curve: its minimum subtracted and the
  result divided by its amplitude, the same numbers applied to the adapted
  curve (:func:`normalize_benucci` with ``method="minmax"``);
* covariances are normalised by the unadapted variances
  (:func:`~neurodata.gain_control.benucci_effects`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import xarray as xr

from neurodata._utils import check_fraction, check_integer, check_option
from neurodata._utils._files import atomic_path
from neurodata.errors import FileFormatError, NeurodataError, ShapeError
from neurodata.gain_control._benucci import (
    BENUCCI_DIMS,
    CONDITIONS,
    check_benucci,
    unit_scales,
)
from neurodata.gain_control._validation import PERIOD

__all__ = ["BENUCCI_P_ADAPTER", "benucci_prior", "load_benucci_mat", "normalize_benucci",
           "write_benucci_mat"]

#: Adapter probability of each of the 11 published sessions, in file order.
BENUCCI_P_ADAPTER = (0.50, 0.35, 0.35, 0.50, 0.50, 0.50, 0.50, 0.40, 0.40, 0.30, 0.30)


def benucci_prior(p_adapter: float, *, n_stimuli: int = 21, peak: float = 0.5) -> xr.DataArray:
    """The biased stimulus ensemble of published analyses, on the closed orientation grid.

    ``p_adapter`` is split over the adapter (centre of the grid, probability
    ``peak * p``) and its two neighbours (``(1 - peak) p / 2`` each); the other
    ``n_stimuli - 3`` entries share ``1 - p`` equally.  The grid is
    ``linspace(-90, 90, n_stimuli)``, whose two ends are one orientation listed
    twice, so that orientation carries twice the share of the others (merged by
    :func:`~neurodata.gain_control.stimulus_ensemble` with
    ``shape="benucci"``).

    Examples
    --------
    At the mean adapter probability of the 11 published sessions (0.418):

    >>> prior = benucci_prior(np.mean(BENUCCI_P_ADAPTER))
    >>> prior.sel(stimulus_orientation=[0.0, 9.0, 45.0]).values.round(4)
    array([0.2091, 0.1045, 0.0323])
    >>> float(prior.sum())
    1.0
    """
    p = check_fraction("p_adapter", p_adapter, closed="left")
    check_fraction("peak", peak)
    n = check_integer("n_stimuli", n_stimuli, minimum=5)
    if n % 2 == 0:
        raise NeurodataError(f"n_stimuli must be odd (the adapter at the centre); got {n}.")
    prob = np.full(n, (1.0 - p) / (n - 3))
    c = n // 2
    prob[c] = p * peak
    prob[c - 1] = prob[c + 1] = p * (1.0 - peak) / 2.0
    return xr.DataArray(prob / prob.sum(), dims="stimulus_orientation", name="probability",
                        coords={"stimulus_orientation": np.linspace(-PERIOD / 2, PERIOD / 2, n)},
                        attrs={"p_adapter": p, "peak": float(peak)})


def normalize_benucci(data, method: str = "minmax") -> xr.Dataset:
    """Normalise every (session, preferred-orientation bin) row by its unadapted curve.

    ``"minmax"`` (the published convention): subtract the uniform-condition
    curve's minimum and divide by its amplitude (maximum minus minimum); the
    adapted curve gets the same numbers, so its values may fall below 0 (the
    minima effect) or rise above 1.  ``"mean"`` / ``"max"``: divide both by the
    uniform curve's mean / peak.  The summaries are taken over the distinct
    orientations (the repeated +90 column is left out).

    Parameters
    ----------
    data : xarray.Dataset or xarray.DataArray
        Benucci-format data, usually raw (``normalization="none"``, as
        :func:`load_benucci_mat` reads them).
    method : {"minmax", "mean", "max"}

    Returns
    -------
    xarray.Dataset
        The input Dataset (or ``responses`` alone) with normalised
        ``responses``, coordinates ``normalization=method`` and
        ``normalization_level="bin"``; rows whose unadapted curve is flat are
        NaN.

    Examples
    --------
    >>> raw = xr.DataArray(np.ones((1, 13, 21, 2)), dims=BENUCCI_DIMS, coords={
    ...     "preferred_orientation": np.linspace(-90, 90, 13),
    ...     "stimulus_orientation": np.linspace(-90, 90, 21), "condition": list(CONDITIONS),
    ...     "normalization": "none"})
    >>> raw[..., 0, :] = 3.0   # the -90 column responds more
    >>> raw[..., -1, :] = 3.0  # (and its repeat at +90)
    >>> out = normalize_benucci(raw).responses
    >>> float(out.min()), float(out.max()), str(out.normalization.values)
    (0.0, 1.0, 'minmax')
    """
    check_option("method", method, ("minmax", "mean", "max"))
    arr = check_benucci(data)
    if str(arr["normalization"].values) != "none":
        raise NeurodataError(
            f"the data are already normalised ({arr['normalization'].values!s}); "
            f"normalize_benucci takes raw responses (normalization='none').")
    x = arr.values
    uniform = x[:, :, :-1, 0].reshape(-1, x.shape[2] - 1)
    with np.errstate(invalid="ignore"):
        offset, scale = unit_scales(uniform, method)
    scale = np.where(scale > 0, scale, np.nan).reshape(x.shape[:2])
    out = (x - offset.reshape(x.shape[:2])[:, :, None, None]) / scale[:, :, None, None]
    resp = arr.copy(data=out).assign_coords(normalization=method, normalization_level="bin")
    base = data if isinstance(data, xr.Dataset) else xr.Dataset()
    return base.assign_coords(normalization=method, normalization_level="bin").assign(
        responses=resp)


def _session_arrays(resps) -> list[np.ndarray]:
    arr = np.asarray(resps)
    if arr.dtype == object:
        return [np.asarray(np.squeeze(a) if np.asarray(a).dtype == object else a, dtype=float)
                for a in arr.ravel()]
    if arr.ndim == 4:
        return [np.asarray(a, dtype=float) for a in arr]
    if arr.ndim == 3:
        return [np.asarray(arr, dtype=float)]
    raise ShapeError(f"'resps' must hold one (13, 21, 2) array per session; got an array of "
                     f"shape {arr.shape}.")


def load_benucci_mat(path: str | os.PathLike, *, p_adapter=None,
                     variable: str = "resps") -> xr.Dataset:
    """Read a session-level file in the published layout as Benucci-format data.

    The file (MATLAB ``.mat``, as ``BenucciTuningData.mat``) holds ``resps``:
    one array per session (a cell array, or a numeric sessions x 13 x 21 x 2
    array) of preferred-orientation bins x stimulus orientations x
    [uniform, biased], both grids ``linspace(-90, 90)``.  The file is only read.

    Parameters
    ----------
    path : path-like
    p_adapter : float or array_like, optional
        The adapter probability of each session (e.g. :data:`BENUCCI_P_ADAPTER`
        for the published file).  By default a ``p_adapter`` variable of the
        file, if there is one.
    variable : str
        The name of the responses in the file.

    Returns
    -------
    xarray.Dataset
        ``responses(session, preferred_orientation, stimulus_orientation,
        condition)`` as stored (``normalization="none"``), and
        ``p_adapter(session)`` when known; the coordinate ``prior="benucci"``
        tells fits the shape of the biased ensemble (:func:`benucci_prior`).

    Raises
    ------
    FileFormatError
        The file is missing, is not a MATLAB file, or has no ``variable``.

    Examples
    --------
    >>> import tempfile, os
    >>> from neurodata.gain_control import simulate_benucci
    >>> data = simulate_benucci("gain", n_sessions=2, random_state=0)
    >>> path = write_benucci_mat(data, os.path.join(tempfile.mkdtemp(), "resps.mat"))
    >>> back = load_benucci_mat(path)
    >>> back.responses.shape, back.p_adapter.values.tolist()
    ((2, 13, 21, 2), [0.5, 0.35])
    """
    import scipy.io
    from scipy.io.matlab import MatReadError

    path = Path(os.fspath(path)).expanduser()
    if not path.is_file():
        raise FileFormatError(f"{path} does not exist; give the path of the .mat file.")
    try:
        contents = scipy.io.loadmat(path)
    except (MatReadError, ValueError, OSError, NotImplementedError) as err:
        raise FileFormatError(f"{path} is not a MATLAB .mat file that scipy can read ({err}); "
                              f"save it with MATLAB's save -v7 (or scipy.io.savemat).") from None
    if variable not in contents:
        found = sorted(k for k in contents if not k.startswith("__"))
        raise FileFormatError(f"{path} has no variable {variable!r}; it has: "
                              f"{', '.join(found) or 'none'}. Name the responses with variable=.")
    sessions = _session_arrays(contents[variable])
    shapes = {a.shape for a in sessions}
    if len(shapes) != 1 or len(next(iter(shapes))) != 3 or next(iter(shapes))[2] != 2:
        raise ShapeError(f"every session in {variable!r} must be a (bins, stimuli, 2) array "
                         f"(uniform, biased); got shapes {sorted(shapes)}.")
    n_bins, n_stim, _ = next(iter(shapes))
    p = p_adapter if p_adapter is not None else contents.get("p_adapter")
    data = xr.Dataset(
        {"responses": (BENUCCI_DIMS, np.stack(sessions))},
        coords={"session": np.arange(len(sessions)),
                "preferred_orientation": np.linspace(-PERIOD / 2, PERIOD / 2, n_bins),
                "stimulus_orientation": np.linspace(-PERIOD / 2, PERIOD / 2, n_stim),
                "condition": list(CONDITIONS), "normalization": "none",
                "normalization_level": "bin", "prior": "benucci"},
        attrs={"source_path": str(path)})
    check_benucci(data)
    if p is not None:
        p = np.asarray(p, dtype=float).ravel()
        if p.size == 1:
            p = np.full(len(sessions), float(p[0]))
        if p.size != len(sessions):
            raise ShapeError(f"p_adapter needs one value per session ({len(sessions)}); got "
                             f"{p.size}.")
        data["p_adapter"] = ("session", p)
    return data


def write_benucci_mat(data, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write Benucci-format data in the published session-level layout (``resps``).

    ``resps`` becomes a sessions x 1 cell array of bins x stimuli x 2 arrays;
    ``p_adapter`` is written beside it when the data have it.  The file is
    written atomically.

    Examples
    --------
    See :func:`load_benucci_mat`.
    """
    import scipy.io

    arr = check_benucci(data)
    cells = np.empty((arr.sizes["session"], 1), dtype=object)
    for i in range(arr.sizes["session"]):
        cells[i, 0] = np.asarray(arr.isel(session=i).values, dtype=float)
    contents: dict = {"resps": cells}
    if isinstance(data, xr.Dataset) and "p_adapter" in data:
        contents["p_adapter"] = np.asarray(data["p_adapter"].values, dtype=float)
    with atomic_path(path, overwrite=overwrite, suffix=".mat") as tmp:
        scipy.io.savemat(tmp, contents)
    return Path(os.fspath(path)).expanduser()

