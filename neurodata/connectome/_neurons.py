"""The shipped table of *C. elegans* neuron classes, and filters of recordings by role.

The table (``data/celegans_neuron_classes.csv``, its source named in its
header) lists the 118 neuron classes of the hermaphrodite with their roles:
``sensory``, ``inter`` (interneuron), ``motor``, several for polymodal classes
(IL1 is all three, OLQ sensory and inter, RIM inter and motor, ...).
"""

from __future__ import annotations

import re
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from neurodata.errors import NeurodataError, NeurodataWarning

__all__ = ["celegans_neuron_classes", "neuron_class", "select_neurons"]

ROLES = ("sensory", "inter", "motor", "other")
_TABLE = Path(__file__).resolve().parent / "data" / "celegans_neuron_classes.csv"
_CORD = re.compile(r"^(AS|DA|DB|DD|VA|VB|VC|VD)\d+$")


@cache
def _table() -> pd.DataFrame:
    return pd.read_csv(_TABLE, comment="#").set_index("class")


def celegans_neuron_classes() -> pd.DataFrame:
    """The 118 neuron classes of *C. elegans* with their roles and system.

    Returns
    -------
    pandas.DataFrame
        Indexed by class (``"AVA"``, ``"IL1"``, ...), with ``roles``
        (semicolon-separated: ``sensory``, ``inter``, ``motor``; ``other``
        for CAN) and ``system`` (``somatic`` or ``pharyngeal``).  The source
        (WormAtlas, after White et al. 1986) is named in the CSV's header.

    Examples
    --------
    >>> table = celegans_neuron_classes()
    >>> len(table), table.loc["AVA", "roles"], table.loc["IL1", "roles"]
    (118, 'inter', 'sensory;inter;motor')
    """
    return _table().copy()


def neuron_class(name: str) -> str | None:
    """The class of a neuron name (``"AVAL"`` -> ``"AVA"``, ``"VB11"`` -> ``"VB"``), or None.

    Names are tried as they are, then without a left/right letter, then also
    without a dorsal/ventral one (``"IL1DL"`` -> ``"IL1"``), and ventral-cord
    motor neurons without their number.

    Examples
    --------
    >>> [neuron_class(n) for n in ["AVAL", "IL1DL", "RMDV", "VB11", "RID", "AWCON"]]
    ['AVA', 'IL1', 'RMD', 'VB', 'RID', None]
    """
    classes = _table().index
    name = str(name).strip()
    if (m := _CORD.match(name)) is not None:
        return m.group(1)
    for cut in (0, 1, 2):
        cand = name[: len(name) - cut] if cut else name
        if cut and name[len(name) - cut:].strip("LRDV") != "":
            break
        if cand in classes:
            return cand
    return None


def _roles_of(name: str) -> set[str] | None:
    cls = neuron_class(name)
    return None if cls is None else set(_table().loc[cls, "roles"].split(";"))


def select_neurons(names, neurons) -> np.ndarray:
    """Boolean mask of the ``names`` kept by a ``neurons=`` filter.

    ``neurons`` is a role (``"sensory"``, ``"inter"``, ``"motor"``) or a
    collection of roles, keeping the neurons *all of whose roles* are among
    them (``("sensory", "inter")`` keeps OLQ but drops IL1 and RIM, which are
    also motor); or a collection of neuron or class names (``["AVA", "RIML"]``).
    Names not in the table are dropped by a role filter, with a warning.

    Examples
    --------
    >>> select_neurons(["AVAL", "IL1DL", "OLQDR", "VB2"], ("sensory", "inter")).tolist()
    [True, False, True, False]
    >>> select_neurons(["AVAL", "AVAR", "RIML"], ["AVA"]).tolist()
    [True, True, False]
    """
    names = [str(n) for n in names]
    wanted = {neurons} if isinstance(neurons, str) else set(neurons)
    if not wanted:
        raise NeurodataError("neurons= is empty; pass roles such as ('sensory', 'inter') or "
                             "neuron names.")
    if wanted <= set(ROLES):
        roles = [_roles_of(n) for n in names]
        unknown = [n for n, r in zip(names, roles) if r is None]
        if unknown:
            warnings.warn(f"{len(unknown)} neuron name(s) are not in the C. elegans class table "
                          f"and were left out by the role filter: {unknown[:10]}.",
                          NeurodataWarning, stacklevel=3)
        return np.array([r is not None and r <= wanted for r in roles], dtype=bool)
    classes = [neuron_class(n) for n in names]
    return np.array([n in wanted or c in wanted for n, c in zip(names, classes)], dtype=bool)
