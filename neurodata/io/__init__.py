"""Reading and writing recordings: NWB 2 files and Zarr stores (local or over HTTP), Allen NWB 1 files."""

from __future__ import annotations

from neurodata.io._allen import open_allen
from neurodata.io._nwb_read import open_nwb
from neurodata.io._nwb_save import save_nwb
from neurodata.io._nwb_write import read_results, write_nwb
from neurodata.io._summary import summarize
from neurodata.io._urls import open_urls

__all__ = ["open_allen", "open_nwb", "open_urls", "read_results", "save_nwb", "summarize",
           "write_nwb"]
