"""Information content, entropy, cross-entropy and KL divergence of discrete distributions.

Natural logarithms (nats) unless `base` is given: base=2 gives bits, base=10 hartleys.
The conventions 0·log 0 = 0 and 0·log(0/q) = 0 hold; p > 0 where q = 0 gives +inf.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _checks


def _in_base(nats: NDArray, base: float | None) -> NDArray:
    """Convert nats to `base` units: divide by ln(base)."""
    ln_b = _checks.log_base(base)
    return nats if ln_b is None else (nats / ln_b).astype(nats.dtype)


def _p_log_q(p: NDArray, q: NDArray) -> NDArray:
    """p·log q elementwise with 0·log q = 0 (even where q = 0)."""
    with np.errstate(divide="ignore"):
        log_q = np.log(np.where(p > 0, q, 1))  # log 1 = 0 where p = 0: no 0·(−inf) = nan, no warning
    return (p * log_q).astype(np.result_type(p, q))


def self_information(p: ArrayLike, base: float | None = None) -> NDArray[np.floating]:
    """I(p) = −log p, elementwise; I(1) = 0 and I(0) = +inf."""
    p = _checks.finite(p, "p")
    if np.any((p < 0) | (p > 1)):
        raise ValueError(f"p: probabilities must lie in [0, 1], found {p[(p < 0) | (p > 1)].ravel()[0]:g}")
    with np.errstate(divide="ignore"):
        nats = 0.0 - np.log(p)  # 0.0 − x, not −x: I(1) is +0.0, never −0.0 (which prints as "-0.0000")
    return _in_base(nats, base)


def entropy(p: ArrayLike, base: float | None = None, axis: int = -1) -> NDArray[np.floating]:
    """H(p) = −Σ_i p_i log p_i along `axis` (0·log 0 = 0)."""
    p = _checks.distribution(p, "p", axis)
    return _in_base(0.0 - np.sum(_p_log_q(p, p), axis=axis), base)  # +0.0 for a certain event


def _pair(p: ArrayLike, q: ArrayLike, axis: int) -> tuple[NDArray, NDArray]:
    """Validate two distributions of the same shape."""
    p = _checks.distribution(p, "p", axis)
    q = _checks.distribution(q, "q", axis)
    if p.shape != q.shape:
        raise ValueError(f"q: expected the shape of p {p.shape}, got {q.shape}")
    dtype = np.result_type(p, q)
    return p.astype(dtype, copy=False), q.astype(dtype, copy=False)


def distribution_cross_entropy(
    p: ArrayLike, q: ArrayLike, base: float | None = None, axis: int = -1
) -> NDArray[np.floating]:
    """H(p, q) = −Σ_i p_i log q_i: the mean code length when data from p is coded for q."""
    p, q = _pair(p, q, axis)
    return _in_base(0.0 - np.sum(_p_log_q(p, q), axis=axis), base)


def kl_divergence(p: ArrayLike, q: ArrayLike, base: float | None = None, axis: int = -1) -> NDArray[np.floating]:
    """D_KL(p‖q) = Σ_i p_i log(p_i / q_i) = H(p, q) − H(p) ≥ 0."""
    p, q = _pair(p, q, axis)
    return _in_base(np.sum(_p_log_q(p, p) - _p_log_q(p, q), axis=axis), base)
