"""The field model fitted from recordings: NWB round trip, what is not a field, figures."""

from __future__ import annotations

import shutil

import matplotlib
import numpy as np
import pytest
import xarray as xr

import neurodata as nd
from neurodata.datasets import load_sample, make_cortical_sheet, make_field_recording, sample_path
from neurodata.errors import NeurodataError, NeurodataWarning, NoNeuralDataError, ShapeError
from neurodata.field_theory import (
    CorticalFieldModel,
    GaussianPointSpread,
    field_samples,
    plot_dispersion,
    plot_spectrum,
)
from neurodata.io._h5 import file_sha256

matplotlib.use("Agg")

TRUE = {"m": 2 * np.pi * 8.0, "c": 200.0, "gamma": 40.0, "noise": 1.0}


@pytest.fixture(scope="module")
def ecog():
    return make_field_recording((6, 6), (48, 48), duration=20.0, dt=2e-3, sensor_noise=2e-5,
                                random_state=4)


def _model(**kw):
    return CorticalFieldModel(method="spectrum", shape=(48, 48), spacing=0.5, floor=True, **kw)


def test_generator_recording_is_valid_and_round_trips(ecog, tmp_path):
    assert nd.validate(ecog) is ecog
    path = nd.save_nwb(ecog, tmp_path / "ecog.nwb")
    back = nd.open_nwb(path, lazy=False)
    np.testing.assert_array_equal(back.ecog.values, ecog.ecog.values)
    np.testing.assert_allclose(back.time_ecog.values, ecog.time_ecog.values, rtol=0, atol=1e-12)
    for col in ("x", "y", "z"):  # positions in the electrodes table
        np.testing.assert_array_equal(back[f"electrode_{col}"].values,
                                      ecog[f"electrode_{col}"].values)
    np.testing.assert_array_equal(back.ecog_electrode.values, ecog.ecog_electrode.values)


def test_sample_field_is_the_seeded_generator():
    rec = load_sample("sample_field", lazy=False)
    ref = make_field_recording((6, 6), (48, 48), duration=10.0, dt=2e-3, sensor_noise=2e-5,
                               observation=GaussianPointSpread(width=0.4), dtype=np.float32,
                               random_state=0)
    np.testing.assert_array_equal(rec.ecog.values, ref.ecog.values)
    np.testing.assert_array_equal(rec.electrode_x.values, ref.electrode_x.values)
    assert field_samples(rec).positions.shape == (36, 2)


def test_fit_from_nwb_recovers_the_field_as_well_as_the_array_path(ecog, tmp_path):
    path = nd.save_nwb(ecog, tmp_path / "ecog.nwb")
    before = file_sha256(path)
    from_file = _model().fit(nd.open_nwb(path), variable="ecog")
    assert file_sha256(path) == before
    from_dataset = _model().fit(ecog)
    pos = field_samples(ecog).positions
    da = xr.DataArray(ecog.ecog.values, dims=("time", "channel"),
                      coords={"time": ecog.time_ecog.values, "channel_x": ("channel", pos[:, 0]),
                              "channel_y": ("channel", pos[:, 1])})
    from_array = _model().fit(da)
    for fit in (from_file, from_dataset, from_array):
        # bounds from the spread over seeds of 20 s recordings (m 6 %, gamma 10 %, sigma 5 %):
        # the 36 electrodes sample long waves together, so the mass gap is seen ~once
        assert fit.m_ == pytest.approx(TRUE["m"], rel=0.08)
        assert fit.c_ == pytest.approx(TRUE["c"], rel=0.01)
        assert fit.gamma_ == pytest.approx(TRUE["gamma"], rel=0.15)
        assert fit.noise_ == pytest.approx(TRUE["noise"], rel=0.08)
        assert fit.params_ == from_array.params_  # the same samples give the same fit
    assert from_file.score(nd.open_nwb(path)) == pytest.approx(from_array.score(da), rel=1e-12)


def test_cross_spectrum_fit_from_nwb_equals_the_array_path(ecog, tmp_path):
    path = nd.save_nwb(ecog, tmp_path / "ecog.nwb")
    from_file = CorticalFieldModel(fmax=40.0).fit(nd.open_nwb(path), variable="ecog")
    pos = field_samples(ecog).positions
    da = xr.DataArray(ecog.ecog.values, dims=("time", "channel"),
                      coords={"time": ecog.time_ecog.values, "channel_x": ("channel", pos[:, 0]),
                              "channel_y": ("channel", pos[:, 1])})
    from_array = CorticalFieldModel(fmax=40.0).fit(da)
    assert from_file.method_ == from_array.method_ == "cross_spectrum"
    np.testing.assert_array_equal(list(from_file.params_.asdict().values()),
                                  list(from_array.params_.asdict().values()))
    np.testing.assert_array_equal(list(from_file.stderr_.values()),
                                  list(from_array.stderr_.values()))
    assert from_file.c_ == pytest.approx(TRUE["c"], rel=0.05)
    assert from_file.m_ == pytest.approx(TRUE["m"], rel=0.15)


def test_history_records_the_optimiser_and_the_dataset_is_complete(ecog):
    model = _model().fit(ecog)
    h = model.history_
    assert h.sizes["iteration"] >= 2
    assert np.all(np.diff(h.best_cost.values) <= 0)
    assert h.cost.values[-1] < h.cost.values[0]
    ds = model.to_dataset()
    assert float(ds.value.sel(parameter="c")) == model.c_
    assert ds.spectrum.dims == ("frequency",) and ds.spectrum_model.dims == ("frequency",)


def test_single_spectrum_without_spacing_reports_only_c_over_a(ecog):
    model = CorticalFieldModel(method="spectrum", shape=(48, 48), floor=True).fit(ecog)
    assert np.isnan(model.c_)
    assert model.c_over_a_ == pytest.approx(TRUE["c"] / 0.5, rel=0.02)


def test_spikes_are_not_a_field_and_the_file_is_untouched(tmp_path):
    path = tmp_path / "session.nwb"
    shutil.copy(sample_path("sample_session"), path)
    before = file_sha256(path)
    with pytest.raises(NoNeuralDataError, match="spike trains"):
        CorticalFieldModel().fit(nd.open_nwb(path))
    assert file_sha256(path) == before


def test_roi_traces_need_positions_and_warn_about_calcium(tmp_path):
    path = tmp_path / "imaging.nwb"
    shutil.copy(sample_path("sample_imaging"), path)
    before = file_sha256(path)
    rec = nd.open_nwb(path, lazy=False)
    bare = rec.drop_vars(["roi_centroid_x", "roi_centroid_y"])
    with pytest.raises(NoNeuralDataError, match="no ROI positions"):
        CorticalFieldModel().fit(bare, variable="fluorescence")
    with pytest.raises(NoNeuralDataError, match="no ROI positions"):
        CorticalFieldModel().fit(bare)
    with pytest.warns(NeurodataWarning, match="calcium"):
        samples = field_samples(rec, variable="fluorescence")
    assert samples.kind == "rois" and samples.positions.shape == (30, 2)
    assert file_sha256(path) == before


def test_other_inputs_that_are_not_fields_raise():
    units = xr.DataArray(np.zeros((100, 3)), dims=("time", "unit"),
                         coords={"time": np.arange(100) / 100.0})
    with pytest.raises(NoNeuralDataError, match="not a sample of a field"):
        CorticalFieldModel().fit(units)
    with pytest.raises(ShapeError, match="cannot fit a field"):
        CorticalFieldModel().fit(xr.DataArray(np.zeros(10), dims="time"))
    rec = make_field_recording((2, 2), (8, 8), duration=0.5, random_state=0)
    two = rec.assign(lfp=(rec.ecog.dims, rec.ecog.values))
    with pytest.raises(NeurodataError, match="several field signals"):
        CorticalFieldModel().fit(two.assign(other=(("time_ecog", "other_channel"),
                                                   rec.ecog.values)))
    with pytest.raises(NeurodataError, match="method='modes'"):
        CorticalFieldModel(method="modes").fit(rec)
    with pytest.raises(ShapeError, match="at least 64"):
        CorticalFieldModel().fit(rec, window=(0.0, 0.05))
    with pytest.raises(NeurodataError, match="must be one of"):
        CorticalFieldModel(method="bayes").fit(rec)


def test_window_selects_the_samples(ecog):
    model = _model().fit(ecog, window=(0.0, 5.0))
    half = field_samples(ecog, window=(0.0, 5.0)).data
    assert half.sizes["time"] == 2501
    assert model.c_ == pytest.approx(TRUE["c"], rel=0.01)


def test_imaging_sheet_from_nwb_fits_like_the_sheet_itself(tmp_path):
    sheet = make_cortical_sheet((12, 12), m=60.0, c=10.0, gamma=8.0, duration=8.0,
                                random_state=2)
    phi = sheet.phi.values
    rec = xr.Dataset({"imaging": (("time_imaging", "imaging_y", "imaging_x"),
                                  np.swapaxes(phi, 1, 2))},
                     coords={"time_imaging": sheet.time.values})
    path = nd.save_nwb(rec, tmp_path / "sheet.nwb")
    opened = nd.open_nwb(path, lazy=False)
    assert opened.imaging.attrs["nwb_type"] == "TwoPhotonSeries"
    kw = {"method": "spectrum", "shape": (12, 12), "spacing": 1.0, "random_state": 0}
    from_file = CorticalFieldModel(**kw).fit(opened)
    from_sheet = CorticalFieldModel(**kw).fit(sheet.phi)
    # the same samples (the file's axes are transposed back): the same fit to rounding
    for name in ("m", "c", "gamma", "noise"):
        assert getattr(from_file.params_, name) == pytest.approx(
            getattr(from_sheet.params_, name), rel=1e-6), name
    assert from_sheet.m_ == pytest.approx(60.0, rel=0.1)  # one 8 s sheet: a statistical bound
    assert field_samples(opened).kind == "image"


def test_figures_take_and_return_axes(ecog):
    import matplotlib.pyplot as plt

    model = _model().fit(ecog)
    _, (a1, a2) = plt.subplots(1, 2)
    assert plot_spectrum(model, ax=a1) is a1
    assert plot_dispersion(model, ax=a2) is a2
    measured = a1.get_lines()[0].get_ydata()
    np.testing.assert_allclose(measured, model.spectrum_.values[1:])
    sheet_model = CorticalFieldModel().fit(make_cortical_sheet((8, 8), duration=5.0,
                                                               random_state=0).phi)
    ax = plot_dispersion(sheet_model)
    assert "measured modes" in [line.get_label() for line in ax.get_lines()]
    with pytest.raises(NeurodataError, match="fitted"):
        plot_spectrum(CorticalFieldModel())
    plt.close("all")
