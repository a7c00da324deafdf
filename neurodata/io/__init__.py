"""Reading and writing recordings: NWB 2 files and Zarr stores (local or over HTTP), and
every Allen Brain Observatory session type."""

from __future__ import annotations

from neurodata.io._allen import (
    open_allen,
    open_allen_behavior_ophys,
    open_allen_lfp,
    open_allen_neuropixels,
    open_allen_vc2p,
)
from neurodata.io._nwb_read import open_nwb
from neurodata.io._nwb_save import save_nwb
from neurodata.io._nwb_write import read_results, write_nwb
from neurodata.io._summary import summarize
from neurodata.io._urls import open_urls

__all__ = [
    "open_allen",
    "open_allen_behavior_ophys",
    "open_allen_lfp",
    "open_allen_neuropixels",
    "open_allen_vc2p",
    "open_nwb",
    "open_urls",
    "read_results",
    "save_nwb",
    "summarize",
    "write_nwb",
]
