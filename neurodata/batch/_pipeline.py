"""Pipelines: a sequence of named steps with parameters, declared in Python or in TOML.

A pipeline opens each file (``[open]`` options go to
:func:`neurodata.open_recording`, lazily by default) and runs its steps in
order.  A step is one of

* a function, ``function = "neurodata.signals.firing_rates"`` (or
  ``"package.module:name"``, or a Python callable when declared in Python),
  called as ``function(input, **params)``;
* an estimator, ``estimator = "neurodata.connectome.DynamicConnectome"``, built
  with ``params`` and fitted through its recording entry point,
  ``fit(input, **fit)``; its result is ``to_dataset()``.

``input`` is the recording, or the output of an earlier step named by
``input = "<step>"``.  What a step returns decides what is kept: xarray
objects are written per file (netCDF or zarr), numbers and dicts of numbers
become columns of the summary table, matplotlib figures are saved as PNG.

A TOML pipeline looks like this::

    [pipeline]
    name = "rates"
    format = "netcdf"          # or "zarr"
    write_nwb = false          # also add the xarray results to a copy of each NWB file

    [open]
    lazy = true

    [[steps]]
    name = "rates"
    function = "neurodata.signals.firing_rates"
    params = { bin_size = 0.05, smooth = 0.1 }

    [[steps]]
    name = "mean_rate"
    function = "mypackage.stats:mean_rate"
    input = "rates"
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neurodata._utils import check_option
from neurodata._version import __version__
from neurodata.errors import NeurodataError

__all__ = ["Pipeline", "Step", "load_pipeline"]

_NAME_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def resolve(target: str | Callable) -> Callable:
    """The callable named by ``"package.module.name"`` or ``"package.module:name"``.

    Examples
    --------
    >>> resolve("neurodata.signals.bin_spikes").__name__
    'bin_spikes'
    >>> resolve("neurodata.signals:nope")
    Traceback (most recent call last):
    ...
    neurodata.errors.NeurodataError: cannot find 'nope' in module 'neurodata.signals' ...
    """
    if callable(target):
        return target
    if not isinstance(target, str) or not target:
        raise NeurodataError(f"a step's function or estimator is a dotted name such as "
                             f"'neurodata.signals.bin_spikes'; got {target!r}.")
    module, sep, attr = target.partition(":")
    if not sep:
        module, _, attr = target.rpartition(".")
    try:
        mod = importlib.import_module(module)
    except ImportError as err:
        raise NeurodataError(f"cannot import module {module!r} for step target {target!r} "
                             f"({err}); check the name and that the package is installed.") \
            from None
    obj: Any = mod
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise NeurodataError(f"cannot find {attr!r} in module {module!r} (step target "
                                 f"{target!r}); check the spelling.")
        obj = getattr(obj, part)
    if not callable(obj):
        raise NeurodataError(f"step target {target!r} is not callable.")
    return obj


def _identity(obj: Any) -> str:
    """A stable description of a callable for the configuration hash (name and source)."""
    if isinstance(obj, str):
        return obj
    name = f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"
    try:
        source = inspect.getsource(obj)
    except (OSError, TypeError):
        source = ""
    return f"{name}#{hashlib.sha256(source.encode()).hexdigest()[:16]}"


@dataclass
class Step:
    """One named step of a :class:`Pipeline`.

    Parameters
    ----------
    name : str
        Names the step's outputs (``<name>.nc``, summary column ``<name>``).
    function : str or callable, optional
        Called as ``function(input, **params)``.
    estimator : str or class, optional
        Built as ``estimator(**params)`` and fitted with ``fit(input, **fit)``;
        the step's output is its ``to_dataset()``.
    params : dict
        Keyword parameters of the function or the estimator.
    fit : dict
        Keyword selectors of the estimator's ``fit`` (``variable=``, ...).
    input : str, optional
        The earlier step whose output this step takes; default: the recording.

    Examples
    --------
    >>> Step("counts", function="neurodata.signals.bin_spikes", params={"bin_size": 0.1}).kind
    'function'
    """

    name: str
    function: str | Callable | None = None
    estimator: str | type | None = None
    params: dict = field(default_factory=dict)
    fit: dict = field(default_factory=dict)
    input: str | None = None

    def __post_init__(self) -> None:
        if not self.name or not set(self.name) <= _NAME_OK or self.name in ("recording",):
            raise NeurodataError(f"step name {self.name!r} must be a non-empty word of letters, "
                                 f"digits, '_' or '-' (and not 'recording'); it names files.")
        if (self.function is None) == (self.estimator is None):
            raise NeurodataError(f"step {self.name!r} needs exactly one of function= or "
                                 f"estimator=.")
        if self.fit and self.estimator is None:
            raise NeurodataError(f"step {self.name!r}: fit= applies to estimator steps only.")

    @property
    def kind(self) -> str:
        return "function" if self.function is not None else "estimator"

    def to_dict(self) -> dict:
        target = self.function if self.function is not None else self.estimator
        out: dict = {"name": self.name, self.kind: _identity(target)}
        for key in ("params", "fit", "input"):
            value = getattr(self, key)
            if value:
                out[key] = value
        return out

    def run(self, data: Any) -> Any:
        """Apply the step to ``data`` (the recording or an earlier step's output)."""
        if self.function is not None:
            return resolve(self.function)(data, **self.params)
        assert self.estimator is not None
        cls = resolve(self.estimator)
        est = cls(**self.params)
        fitted = est.fit(data, **self.fit)
        if not hasattr(fitted, "to_dataset"):
            raise NeurodataError(f"step {self.name!r}: {getattr(cls, '__name__', cls)} has no "
                                 f"to_dataset(); use a neurodata estimator or a function step.")
        return fitted.to_dataset()


@dataclass
class Pipeline:
    """Named steps run on every file, with the options of opening and of the outputs.

    Parameters
    ----------
    steps : sequence of Step or dict
        The steps, in order (dicts are passed to :class:`Step`).
    name : str
        The pipeline's name (in the summary and the output folder's record).
    open : dict
        Options for :func:`neurodata.open_recording` (``lazy`` defaults to True).
    format : {"netcdf", "zarr"}
        How xarray outputs are written.
    write_nwb : bool
        Also add every xarray output to a copy of the input NWB file (as an
        analysis module, with :func:`neurodata.write_nwb`).

    Examples
    --------
    >>> p = Pipeline([{"name": "counts", "function": "neurodata.signals.bin_spikes",
    ...                "params": {"bin_size": 0.1}}], name="counts")
    >>> [s.name for s in p.steps], len(p.config_hash())
    (['counts'], 64)
    """

    steps: Sequence[Any] = ()
    name: str = "pipeline"
    open: dict = field(default_factory=dict)
    format: str = "netcdf"
    write_nwb: bool = False

    def __post_init__(self) -> None:
        steps = [s if isinstance(s, Step) else Step(**dict(s)) for s in self.steps]
        self.steps = steps
        if not steps:
            raise NeurodataError("a pipeline needs at least one step.")
        check_option("format", self.format, ("netcdf", "zarr"))
        names = [s.name for s in steps]
        if len(set(names)) != len(names):
            raise NeurodataError(f"step names must be unique; got {names}.")
        for i, step in enumerate(steps):
            if step.input is not None and step.input not in names[:i]:
                raise NeurodataError(f"step {step.name!r} takes input {step.input!r}, which is "
                                     f"not an earlier step; earlier steps: {names[:i] or 'none'}.")

    def to_dict(self) -> dict:
        """A JSON-ready description (what the configuration hash covers)."""
        return {"name": self.name, "open": dict(self.open), "format": self.format,
                "write_nwb": bool(self.write_nwb),
                "steps": [s.to_dict() for s in self.steps]}

    def config_hash(self) -> str:
        """sha256 of the configuration and the neurodata version; a change redoes every file."""
        text = json.dumps({"pipeline": self.to_dict(), "neurodata": __version__},
                          sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def validate(self) -> Pipeline:
        """Resolve every step's target now, so that a misspelt name fails before any work."""
        for step in self.steps:
            target = step.function if step.function is not None else step.estimator
            resolve(target)
        return self


def load_pipeline(path: str | os.PathLike) -> Pipeline:
    """Read a pipeline from a TOML file (see the module documentation for the layout).

    Examples
    --------
    >>> import tempfile
    >>> toml = Path(tempfile.mkdtemp()) / "p.toml"
    >>> _ = toml.write_text('[pipeline]\\nname = "counts"\\n[[steps]]\\nname = "counts"\\n'
    ...                     'function = "neurodata.signals.bin_spikes"\\n'
    ...                     'params = { bin_size = 0.1 }\\n')
    >>> load_pipeline(toml).steps[0].params
    {'bin_size': 0.1}
    """
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    p = Path(os.fspath(path)).expanduser()
    if not p.is_file():
        raise NeurodataError(f"no pipeline file at {p}; check the path.")
    try:
        data = tomllib.loads(p.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise NeurodataError(f"{p} is not valid TOML: {err}.") from None
    unknown = set(data) - {"pipeline", "open", "steps"}
    if unknown:
        raise NeurodataError(f"{p}: unknown section(s) {sorted(unknown)}; a pipeline file has "
                             f"[pipeline], [open] and [[steps]].")
    head = data.get("pipeline", {})
    extra = set(head) - {"name", "format", "write_nwb"}
    if extra:
        raise NeurodataError(f"{p}: unknown [pipeline] key(s) {sorted(extra)}.")
    steps = data.get("steps", [])
    for s in steps:
        bad = set(s) - {"name", "function", "estimator", "params", "fit", "input"}
        if bad:
            raise NeurodataError(f"{p}: step {s.get('name')!r} has unknown key(s) {sorted(bad)}.")
    return Pipeline(steps=steps, name=head.get("name", p.stem), open=data.get("open", {}),
                    format=head.get("format", "netcdf"), write_nwb=head.get("write_nwb", False))
