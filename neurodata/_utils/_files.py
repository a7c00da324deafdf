"""Writing outputs atomically: a temporary file beside the target, renamed into place."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from neurodata.errors import NeurodataError, OutputExistsError

__all__ = ["atomic_path"]


def _default_mode() -> int:
    """The permissions a newly created file gets under the current umask (0o666 & ~umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def atomic_path(path: str | os.PathLike, *, overwrite: bool, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only on success.

    An existing ``path`` is kept unless ``overwrite`` (and is never half-written);
    the file ends with the permissions an ordinary new file gets (the umask's),
    not the private ones of a temporary file.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_path(target, overwrite=False) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text(), oct(target.stat().st_mode & 0o777) == oct(_default_mode())
    ('done', True)
    >>> with atomic_path(target, overwrite=False) as tmp:
    ...     pass
    Traceback (most recent call last):
    ...
    neurodata.errors.OutputExistsError: ... exists; pass overwrite=True to replace it, or choose another path.
    """
    final = Path(os.fspath(path)).expanduser()
    if final.is_dir():
        raise NeurodataError(f"{final} is a directory; give a file path"
                             f"{' ending in ' + suffix if suffix else ''}.")
    if final.exists() and not overwrite:
        raise OutputExistsError(f"{final} exists; pass overwrite=True to replace it, or choose "
                                f"another path.")
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=f".tmp{suffix or final.suffix}",
                               dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, _default_mode())
        os.replace(tmp_path, final)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
