"""Information content, entropy, cross-entropy and KL divergence of discrete distributions.

Natural logarithms (nats) unless `base` is given: base=2 gives bits, base=10 hartleys.
The conventions 0·log 0 = 0 and 0·log(0/q) = 0 hold; p > 0 where q = 0 gives +inf.
float16 input is computed in float32 and rounded once.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _checks


def _in_base(nats: NDArray, ln_b: float | None, dtype: np.dtype) -> NDArray:
    """Convert nats to `base` units (divide by ln(base)), then round once to `dtype`."""
    out = nats if ln_b is None else nats / nats.dtype.type(ln_b)
    return out.astype(dtype, copy=False)


def _p_log_q(p: NDArray, q: NDArray) -> NDArray:
    """p·log q elementwise with 0·log q = 0 (even where q = 0)."""
    with np.errstate(divide="ignore"):
        log_q = np.log(np.where(p > 0, q, 1))  # log 1 = 0 where p = 0: no 0·(−inf) = nan, no warning
    return p * log_q


def self_information(p: ArrayLike, base: float | None = None) -> NDArray[np.floating]:
    """I(p) = −log p, elementwise; I(1) = 0 and I(0) = +inf."""
    p = _checks.finite(p, "p")
    ln_b = _checks.log_base(base)
    outside = (p < 0) | (p > 1)
    if np.any(outside):
        raise ValueError(f"p: probabilities must lie in [0, 1], found {p[outside].ravel()[0]:g}")
    with np.errstate(divide="ignore"):
        nats = 0.0 - np.log(p.astype(_checks.compute_dtype(p.dtype), copy=False))  # I(1) = +0.0, not −0.0
    return _in_base(nats, ln_b, p.dtype)


def entropy(p: ArrayLike, base: float | None = None, axis: int = -1) -> NDArray[np.floating]:
    """H(p) = −Σ_i p_i log p_i along `axis` (0·log 0 = 0)."""
    p = _checks.distribution(p, "p", axis)
    ln_b = _checks.log_base(base)
    ax = _checks.axis_index(axis, p.ndim)
    pc = p.astype(_checks.compute_dtype(p.dtype), copy=False)
    return _in_base(0.0 - np.sum(_p_log_q(pc, pc), axis=ax), ln_b, p.dtype)  # +0.0 for a certain event


def _pair(p: ArrayLike, q: ArrayLike, axis: object) -> tuple[NDArray, NDArray, int, np.dtype]:
    """Validate two distributions of the same shape; return them in the compute dtype, the axis, the dtype."""
    p = _checks.distribution(p, "p", axis)
    q = _checks.distribution(q, "q", axis)
    if p.shape != q.shape:
        raise ValueError(f"q: expected the shape of p {p.shape}, got {q.shape}")
    dtype = np.result_type(p, q)
    work = _checks.compute_dtype(dtype)
    return p.astype(work, copy=False), q.astype(work, copy=False), _checks.axis_index(axis, p.ndim), dtype


def distribution_cross_entropy(
    p: ArrayLike, q: ArrayLike, base: float | None = None, axis: int = -1
) -> NDArray[np.floating]:
    """H(p, q) = −Σ_i p_i log q_i: the mean code length when data from p is coded for q."""
    p, q, ax, dtype = _pair(p, q, axis)
    return _in_base(0.0 - np.sum(_p_log_q(p, q), axis=ax), _checks.log_base(base), dtype)


def kl_divergence(p: ArrayLike, q: ArrayLike, base: float | None = None, axis: int = -1) -> NDArray[np.floating]:
    """D_KL(p‖q) = Σ_i p_i log(p_i / q_i) = H(p, q) − H(p) ≥ 0."""
    p, q, ax, dtype = _pair(p, q, axis)
    return _in_base(np.sum(_p_log_q(p, p) - _p_log_q(p, q), axis=ax), _checks.log_base(base), dtype)
