"""One name per concept in every public signature (DESIGN.md, "One vocabulary").

Every callable reachable from an ``__all__`` of the package (functions,
classes' ``__init__`` and the public methods of estimators) is scanned for the
synonyms below.  Old spellings stay accepted through
:func:`neurodata._utils.renamed_kwargs` / ``renamed_params``, which hide them
from the signature, so they do not show up here.
"""

from __future__ import annotations

import importlib
import inspect

from neurodata.schema import BANNED_PARAMETERS

PACKAGES = ["neurodata", "neurodata.io", "neurodata.signals", "neurodata.datasets",
            "neurodata.plotting", "neurodata.batch", "neurodata.schema", "neurodata.connectome",
            "neurodata.rnn", "neurodata.clustering", "neurodata.neuroformer",
            "neurodata.gain_control", "neurodata.field_theory", "neurodata.segmentation"]

#: Signatures not yet brought in line, as "qualified.name:parameter".  Each
#: module's part of issue 12 empties its entries; the list must end empty.
PENDING: set[str] = set()


def _callables():
    seen = set()
    for pkg in PACKAGES:
        mod = importlib.import_module(pkg)
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name)
            if not callable(obj) or id(obj) in seen:
                continue
            seen.add(id(obj))
            if inspect.isclass(obj):
                yield f"{obj.__module__}.{obj.__qualname__}", obj.__init__
                for meth_name, meth in vars(obj).items():
                    if meth_name.startswith("_") or not callable(meth):
                        continue
                    yield f"{obj.__module__}.{obj.__qualname__}.{meth_name}", meth
            else:
                yield f"{getattr(obj, '__module__', pkg)}.{getattr(obj, '__qualname__', name)}", obj


def _parameters():
    for qualname, func in _callables():
        try:
            sig = inspect.signature(func)
        except (TypeError, ValueError):
            continue
        for p in sig.parameters.values():
            yield qualname, p


def test_no_banned_synonyms_in_public_signatures():
    found = set()
    for qualname, p in _parameters():
        if p.name in BANNED_PARAMETERS:
            found.add(f"{qualname}:{p.name}")
    new = sorted(found - PENDING)
    assert not new, "use the one name per concept:\n" + "\n".join(
        f"  {k} -> {BANNED_PARAMETERS[k.rsplit(':', 1)[1]]}" for k in new)


def test_progress_defaults_to_automatic_and_random_state_to_none():
    bad = set()
    for qualname, p in _parameters():
        if p.name == "progress" and p.default is not None:
            bad.add(f"{qualname}:progress={p.default!r}")
        # Generators of sample data may default to a fixed seed (reproducible samples).
        if p.name == "random_state" and p.default is not inspect.Parameter.empty \
                and p.default is not None and not qualname.startswith("neurodata.datasets."):
            bad.add(f"{qualname}:random_state={p.default!r}")
    new = sorted(bad - PENDING)
    assert not new, ("progress defaults to None (automatic) and random_state to None (fresh "
                     "entropy) everywhere:\n  " + "\n  ".join(new))


def test_pending_is_empty():
    # Issue 12 is done only when every signature uses the one vocabulary.
    names = {f"{q}:{p.name}" for q, p in _parameters()}
    names |= {f"{q}:{p.name}={p.default!r}" for q, p in _parameters()}
    stale = sorted(e for e in PENDING if e not in names)
    assert not stale, f"{stale} are fixed; remove them from PENDING"
    assert not PENDING, f"signatures still to bring in line: {sorted(PENDING)}"
