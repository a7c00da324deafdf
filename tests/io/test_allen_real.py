"""The real Visual Coding 2P file (datasets cut to length 1): structure and metadata."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

import neurodata as nd
from neurodata.io._h5 import file_sha256
from tests.conftest import shared_file

ALLEN = "nwb/allen_vc2p_496908818s_nwb1_skinny.nwb"

pytestmark = pytest.mark.shared_data


def test_metadata_of_the_released_file():
    path = shared_file(ALLEN)
    with nd.open_allen(path) as ds:
        a = ds.attrs
        assert a["allen_session_type"] == "Visual Coding 2P"
        assert (a["ophys_experiment_id"], a["experiment_container_id"]) == ("496908818",
                                                                            "511507144")
        assert a["session_type"] == "three_session_B"
        assert a["specimen_name"] == "Rorb-IRES2-Cre;Camk2a-tTA;Ai93-222181"
        assert (a["imaging_depth"], a["imaging_rate"], a["location"]) == ("275 microns", "31Hz",
                                                                          "VISp")
        assert a["subject_genotype"].startswith("Rorb-IRES2-Cre/wt")
        assert a["nwb_version"] == "NWB-1.0.5"
        assert a["source_sha256"] == file_sha256(path)


def test_structure_of_the_released_file():
    path = shared_file(ALLEN)
    with nd.open_allen(path) as ds:
        nd.validate(ds)
        # three_session_B: static gratings, natural scenes, natural movie one, spontaneous
        assert set(nd.schema.stimulus_dims(ds)) == {"static_gratings", "natural_scenes",
                                                    "natural_movie_one", "spontaneous"}
        for name in ("static_gratings", "natural_scenes", "natural_movie_one"):
            assert {f"{name}_start_frame", f"{name}_end_frame"} <= set(ds.coords)
        assert "natural_movie_one_repeat" in ds.coords
        for name in ("natural_scenes", "natural_movie_one"):
            tmpl = ds[f"{name}_template"]
            assert tmpl.dims == (f"{name}_image", f"{name}_y", f"{name}_x")
        assert ds.dff.dims == ("time", "roi")
        assert {"fluorescence", "neuropil", "demixed", "running_speed"} <= set(ds.data_vars)
        assert "roi_mask" not in ds  # 171 ROI masks against 1 cut trace: not paired up
        with h5py.File(path, "r") as f:
            ids = f["processing/brain_observatory_pipeline/ImageSegmentation/cell_specimen_ids"][()]
            n_rois = len([k for k in f["processing/brain_observatory_pipeline/ImageSegmentation/"
                                       "imaging_plane_1"] if k.startswith("roi_0")])
        np.testing.assert_array_equal(ds.roi.values, ids[: ds.sizes["roi"]])
        assert n_rois == 171  # the file keeps every ROI group, each cut to length 1
