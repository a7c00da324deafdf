"""What a module declares so that the estimator contract test covers its estimator.

Each analysis module has ``tests/<module>/contract_case.py`` with ``CASES``, a
list of :class:`ContractCase`; ``tests/test_estimator_contract.py`` finds them
and runs one contract over all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ContractCase:
    """One estimator, small and fast, with the data it is fitted to.

    Parameters
    ----------
    make : callable
        ``make(**params)`` returns a fresh, seeded estimator (``random_state=0``)
        whose fit takes a few seconds at most; ``params`` override its settings.
    data : callable
        Returns the recording (a schema Dataset, or a dict of them) to fit.
    fit_kwargs : dict
        Keyword selectors for ``fit`` (``variable=``, ``stimulus=``, ...).
    score : callable, optional
        ``score(estimator, data)`` calls the estimator's ``score`` with the right
        arguments; default ``estimator.score(data, **fit_kwargs)``.
    worse : dict
        Parameters that make a clearly worse fit (fewer iterations, a tiny
        model): the fitted model must score higher than one made with them.
    unfitted_calls : list of callables
        Methods that need a fitted model, called on an unfitted estimator; each
        must raise NotFittedError.  ``to_dataset`` is always checked.
    """

    make: Callable[..., Any]
    data: Callable[[], Any]
    fit_kwargs: dict = field(default_factory=dict)
    score: Callable[[Any, Any], float] | None = None
    worse: dict = field(default_factory=dict)
    unfitted_calls: list = field(default_factory=list)
    id: str = ""

    def fit(self, estimator: Any, data: Any) -> Any:
        return estimator.fit(data, **self.fit_kwargs)

    def score_of(self, estimator: Any, data: Any) -> float:
        if self.score is not None:
            return self.score(estimator, data)
        return estimator.score(data, **self.fit_kwargs)
