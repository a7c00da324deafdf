"""Every code block of docs/recording_to_result.rst runs (in a temporary folder)."""

from __future__ import annotations

from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "recording_to_result.rst"


def _blocks() -> list[tuple[str, str]]:
    lines = DOC.read_text().splitlines()
    out, title, i = [], "", 0
    while i < len(lines):
        line = lines[i]
        if i + 1 < len(lines) and lines[i + 1].startswith("---") and \
                len(lines[i + 1]) == len(line) and line.strip():
            title = line.strip()
        if line.strip() == ".. code-block:: python":
            i += 2
            code = []
            while i < len(lines) and (lines[i].startswith("   ") or not lines[i].strip()):
                code.append(lines[i][3:])
                i += 1
            out.append((title, "\n".join(code)))
            continue
        i += 1
    return out


BLOCKS = _blocks()


def test_every_module_has_a_block():
    titles = {t for t, _ in BLOCKS}
    assert len(BLOCKS) == 7 and len(titles) == 7, titles


@pytest.mark.slow
@pytest.mark.parametrize(("title", "code"), BLOCKS, ids=[t for t, _ in BLOCKS])
def test_block_runs(title, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEURODATA_FAST", "1")
    exec(compile(code, f"{DOC.name}: {title}", "exec"), {"__name__": "__user_guide__"})
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written, "each block writes its result"
