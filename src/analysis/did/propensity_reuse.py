"""Fit each of moderndid's propensity-score logits once per distinct input, within one estimation.

moderndid's doubly robust ``att_gt`` fits a logit (statsmodels ``GLM``, binomial family) for every
group-time cell, twice: once in its overlap screen (``_cell_fails_screen``) and once in
``drdid_panel``. With time-invariant covariates and a fixed comparison group the cells of one
cohort share the very same inputs (treatment indicator, covariates, weights), so the same fit is
repeated for every period: on the default data the budget estimation makes 8,910 fits of 91
distinct problems (benchmarks/README.md).

Inside :func:`reused_propensity_fits` the ``sm.GLM`` that moderndid's modules see is replaced by
:class:`_ReusedGLM`, which keys a fit by the bytes of its inputs (endogenous and exogenous arrays,
frequency weights, family, every other argument) and returns the results object of the first fit
of that key. Statsmodels' IRLS is deterministic, so a reused fit is the fit that would have been
made, bit for bit (``tests/test_did_cs.py`` compares whole results with and without reuse); the
warnings the first fit raised are raised again at each reuse; a fit that fails is not stored (it
fails again). The reuse lives as long as the outermost block: one ``att_gt`` call, or a whole
analysis that estimates several outcomes on the same sample (the budget report's categories, the
robustness views), where the same logits recur from one estimation to the next.
"""

from __future__ import annotations

import hashlib
import pickle
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

# moderndid imports its group-time loop (whose overlap screen fits a logit per cell) only when
# ``att_gt`` first runs; it must be in ``sys.modules`` before a block swaps ``sm``, or the
# screen's fits in a block opened before the first ``att_gt`` of a process are not reused
import moderndid.did.compute_att_gt  # noqa: F401
import numpy as np
import statsmodels.api as sm

_LOCK = threading.RLock()
_ORIGINAL_GLM = sm.GLM


class _Statsmodels(ModuleType):
    """``statsmodels.api`` as moderndid's modules see it inside the block: everything as it is,
    except ``GLM``."""

    def __init__(self, memo: dict) -> None:
        super().__init__("statsmodels.api")
        self._memo = memo

    def __getattr__(self, name: str) -> Any:
        return getattr(sm, name)

    def GLM(self, *args: Any, **kwargs: Any) -> _ReusedGLM:
        return _ReusedGLM(self._memo, args, kwargs)


def _fingerprint(value: Any, digest: hashlib._Hash) -> None:
    if isinstance(value, np.ndarray) or hasattr(value, "__array__") and not isinstance(value, (str, bytes)):
        array = np.ascontiguousarray(np.asarray(value))
        digest.update(f"array{array.dtype.str}{array.shape}".encode())
        # an object array's bytes are pointers: its values are hashed instead
        digest.update(pickle.dumps(array.tolist(), protocol=5) if array.dtype.hasobject else array.tobytes())
    elif isinstance(value, dict):
        for key in sorted(value):
            digest.update(repr(key).encode())
            _fingerprint(value[key], digest)
    elif isinstance(value, (list, tuple)):
        digest.update(f"seq{len(value)}".encode())
        for item in value:
            _fingerprint(item, digest)
    else:  # scalars, a family and its link (their pickles are deterministic)
        digest.update(pickle.dumps(value, protocol=5))


class _ReusedGLM:
    """A ``GLM`` whose ``fit`` returns the stored results of an earlier fit of the same inputs
    (the model itself is built only when a fit is actually made)."""

    def __init__(self, memo: dict, args: tuple, kwargs: dict) -> None:
        self._memo, self._args, self._kwargs = memo, args, kwargs
        self._model = None

    def _real(self):
        if self._model is None:
            self._model = _ORIGINAL_GLM(*self._args, **self._kwargs)
        return self._model

    def fit(self, *args: Any, **kwargs: Any):
        try:
            digest = hashlib.sha256()
            _fingerprint((self._args, self._kwargs, args, kwargs), digest)
            key = digest.hexdigest()
        except Exception:  # noqa: BLE001 - an argument without a byte form: fit without reuse
            return self._real().fit(*args, **kwargs)
        stored = self._memo.get(key)
        if stored is None:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                results = self._real().fit(*args, **kwargs)
            stored = (results, [(w.message, w.category) for w in caught])
            self._memo[key] = stored
        results, raised = stored
        for message, category in raised:
            warnings.warn(message, category, stacklevel=2)
        return results

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real(), name)


_STORE: dict | None = None


@contextmanager
def reused_propensity_fits() -> Iterator[dict]:
    """Within the block, moderndid's GLM fits of identical inputs are made once (module doc).
    Yields the store (key -> (results, warnings)); a nested block uses the outer one's."""
    global _STORE
    with _LOCK:
        if _STORE is not None:
            outer = True
        else:
            outer = False
            _STORE = {}
            proxy = _Statsmodels(_STORE)
            swapped = [module for name, module in list(sys.modules.items())
                       if name.startswith("moderndid.") and getattr(module, "sm", None) is sm]
            for module in swapped:
                module.sm = proxy
        store = _STORE
    try:
        yield store
    finally:
        if not outer:
            with _LOCK:
                for module in swapped:
                    module.sm = sm
                _STORE = None
