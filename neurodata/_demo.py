"""The main job on shipped sample data (``neurodata demo``).

Open the sample session, check it against the conventions, bin the spikes,
align them to stimulus onsets, estimate each unit's preferred orientation
from its tuning curve, compare with the ground truth the generator planted,
and write the results to NWB (a copy of the sample with a results module)
and a figure.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import xarray as xr

from neurodata.datasets import sample_path
from neurodata.io import open_nwb, read_results, write_nwb
from neurodata.schema import validate
from neurodata.signals import align, bin_spikes

__all__ = ["preferred_orientation", "run_demo"]


def preferred_orientation(tuning: xr.DataArray, dim: str = "orientation") -> xr.DataArray:
    """Preferred orientation (degrees in [0, 180)) from a tuning curve.

    The circular mean of the doubled angle, weighted by the baseline-subtracted
    response: orientation is periodic over 180 degrees.

    Examples
    --------
    >>> th = np.arange(0, 180, 22.5)
    >>> tc = xr.DataArray(np.exp(2 * np.cos(np.deg2rad(2 * (th - 30)))), dims="orientation",
    ...                   coords={"orientation": th})
    >>> round(float(preferred_orientation(tc)), 6)
    30.0
    """
    th = np.deg2rad(2 * tuning[dim])
    w = tuning - tuning.min(dim)
    z = (w * np.exp(1j * th)).sum(dim)
    angle = xr.apply_ufunc(np.angle, z)
    return (angle * (90 / np.pi)) % 180


def run_demo(out_dir: str | os.PathLike = "neurodata_demo_output", *, show: bool = False,
             verbose: bool = True) -> dict:
    """Run the sample analysis; return its headline figures.

    Examples
    --------
    >>> import tempfile
    >>> res = run_demo(tempfile.mkdtemp(), verbose=False)
    >>> res["n_units"], res["median_error_deg"] < 10
    (24, True)
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    src = sample_path("sample_session")
    with open_nwb(src) as ds:
        validate(ds)
        counts = bin_spikes(ds, 0.01)
        aligned = align(ds, "trial_stimulus_on", (-0.5, 1.5), bin_size=0.02)
        window = aligned.sel(time_rel=slice(0.0, 1.0))
        rates = window.mean("time_rel") / aligned.attrs["bin_size"]
        tuning = rates.groupby("trial_stimulus_orientation").mean().rename(
            trial_stimulus_orientation="orientation").rename("tuning")
        tuning.attrs["units"] = "Hz"
        pref = preferred_orientation(tuning).rename("preferred_orientation_estimate")
        truth = ds["preferred_orientation"].values
        err = np.abs((pref.values - truth + 90) % 180 - 90)
        results_path = write_nwb({"tuning": tuning, "preferred_orientation": pref,
                                  "psth": aligned.mean("trial").rename("psth")},
                                 out / "sample_session_results.nwb", source=src, overwrite=True)
        figure = _figure(ds, aligned, tuning, pref, truth, out / "sample_session.png", show)
        res: dict = {"n_units": int(ds.sizes["unit"]), "n_spikes": int(ds.sizes["spike"]),
               "n_bins": int(counts.sizes["time"]), "median_error_deg": float(np.median(err)),
               "max_error_deg": float(err.max()), "results": str(results_path),
               "figure": str(figure), "stored": sorted(read_results(results_path))}
    if verbose:
        print(f"sample session: {res['n_units']} units, {res['n_spikes']:,} spikes, "
              f"{res['n_bins']:,} bins of 10 ms")
        print(f"preferred orientation recovered: median error {res['median_error_deg']:.1f} deg, "
              f"max {res['max_error_deg']:.1f} deg (ground truth planted by the generator)")
        print(f"results written to {res['results']} (module 'neurodata': "
              f"{', '.join(map(str, res['stored']))})")
        print(f"figure written to {res['figure']}")
    return res


def _figure(ds, aligned, tuning, pref, truth, path: Path, show: bool) -> Path:
    import matplotlib.pyplot as plt

    from neurodata.plotting import plot_psth, plot_raster

    fig, axes = plt.subplots(2, 2, figsize=(10, 7), layout="constrained")
    plot_raster(ds, start=0, stop=10, ax=axes[0, 0])
    axes[0, 0].set_title("spike raster, first 10 s")
    plot_psth(aligned, ax=axes[0, 1])
    axes[0, 1].set_title("population PSTH around stimulus onset")
    best = np.argsort(ds["peak_rate"].values)[-4:]
    for k in best:
        axes[1, 0].plot(tuning.orientation, tuning.isel(unit=k), marker="o",
                        label=f"unit {int(ds.unit[k])}")
    axes[1, 0].set(xlabel="orientation (deg)", ylabel="rate (Hz)", title="tuning curves")
    axes[1, 0].legend(frameon=False, fontsize="small")
    axes[1, 1].plot(truth, pref, "o")
    axes[1, 1].plot([0, 180], [0, 180], "k--", lw=0.8)
    axes[1, 1].set(xlabel="true preferred orientation (deg)", ylabel="estimated (deg)",
                   title="ground truth recovered")
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=100)
    os.replace(tmp, path)
    if show:
        plt.show()
    plt.close(fig)
    return path
