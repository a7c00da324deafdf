"""Readers are chosen by what they can open, never by error text."""

from __future__ import annotations

import pytest

from neurodata.datasets import sample_path
from neurodata.errors import FileFormatError
from neurodata.io._registry import READERS, guess_reader, open_recording
from tests.conftest import shared_file


def test_readers_claim_their_files(tmp_path):
    assert guess_reader(sample_path()).name == "nwb"
    text = tmp_path / "notes.nwb"
    text.write_text("not hdf5")
    assert guess_reader(text) is None
    with pytest.raises(FileFormatError, match="not an HDF5 file"):
        open_recording(text)
    assert [r.name for r in READERS][-1] == "nwb"


@pytest.mark.shared_data
def test_allen_file_goes_to_the_allen_reader():
    allen = shared_file("nwb/allen_vc2p_496908818s_nwb1_skinny.nwb")
    assert guess_reader(allen).name == "allen-vc2p"
    assert "dff" in open_recording(allen, checksum=False)
