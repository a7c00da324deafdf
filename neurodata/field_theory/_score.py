"""The Whittle log-likelihood: how well a spectral model explains measured spectra.

For a stationary Gaussian signal the Welch estimate ``S(f)`` of a spectrum ``P(f)`` is
approximately ``P(f)`` times a chi-square variable of mean 1, independent across
frequencies, so the log-likelihood of the model is, up to terms that do not depend on it,

    l = - sum_f [ log P(f) + S(f) / P(f) ]        (Whittle 1953),

times the number of independent segments.  It is largest, in expectation, at the true
spectrum; :func:`whittle_score` returns its mean over bins (and channels), a number that
is higher for a better model.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

__all__ = ["mode_spectra", "whittle_score"]


def whittle_score(measured, model) -> float:
    """Mean Whittle log-likelihood ``-mean(log P + S / P)`` of model spectra ``P``.

    Examples
    --------
    >>> s = np.array([1.0, 2.0, 0.5])
    >>> whittle_score(s, s) > whittle_score(s, 2 * s)
    True
    """
    measured, model = np.broadcast_arrays(np.asarray(measured, dtype=float),
                                          np.asarray(model, dtype=float))
    ok = np.isfinite(measured) & np.isfinite(model) & (model > 0)
    return float(-np.mean(np.log(model[ok]) + measured[ok] / model[ok]))


def mode_spectra(modes: np.ndarray, fs: float, nperseg: int) -> tuple[np.ndarray, np.ndarray]:
    """Welch spectra of mode time series ``(time, mode)``; complex modes sum re and im.

    Returns ``(frequencies, psd (frequency, mode))``, one-sided.
    """
    values = np.asarray(modes)
    parts = [values.real, values.imag] if np.iscomplexobj(values) else [values]
    total = None
    for part in parts:
        f, p = signal.welch(part, fs=fs, nperseg=nperseg, axis=0)
        total = p if total is None else total + p
    assert total is not None
    return f, total
