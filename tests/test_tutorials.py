"""Every gallery tutorial runs, in its fast mode, as part of the test suite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = sorted((ROOT / "tutorials").glob("*/plot_*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("script", TUTORIALS, ids=[p.parent.name + "/" + p.name for p in TUTORIALS])
def test_tutorial_runs(script: Path, tmp_path: Path) -> None:
    env = dict(os.environ, NEURODATA_FAST="1", MPLBACKEND="Agg", PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, f"{script.name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"


def test_every_tutorial_folder_has_a_readme() -> None:
    folders = {p.parent for p in TUTORIALS}
    assert (ROOT / "tutorials" / "README.txt").exists()
    for folder in folders:
        assert (folder / "README.txt").exists(), f"{folder} needs a README.txt for sphinx-gallery"
