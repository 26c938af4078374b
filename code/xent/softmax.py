"""Softmax, log-softmax, log-sum-exp and the sigmoid, stable for every finite input."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _checks


def logsumexp(z: ArrayLike, axis: int = -1, keepdims: bool = False) -> NDArray[np.floating]:
    """LSE(z) = m + log Σ_j exp(z_j − m) with m = max_j z_j, so no exp ever overflows."""
    z = _checks.finite(z, "z")
    _checks.nonempty_axis(z, "z", axis)
    m = np.max(z, axis=axis, keepdims=True)  # (..., 1)
    out = m + np.log(np.sum(np.exp(z - m), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def softmax(z: ArrayLike, axis: int = -1) -> NDArray[np.floating]:
    """σ(z)_i = exp(z_i − m) / Σ_j exp(z_j − m), the max m subtracted first (shift invariance)."""
    z = _checks.finite(z, "z")
    _checks.nonempty_axis(z, "z", axis)
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))  # every exponent ≤ 0, so e ∈ (0, 1]
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(z: ArrayLike, axis: int = -1) -> NDArray[np.floating]:
    """log σ(z)_i = (z_i − m) − log Σ_j exp(z_j − m) = z_i − LSE(z): never log of an underflowed 0."""
    z = _checks.finite(z, "z")
    _checks.nonempty_axis(z, "z", axis)
    # Shift first: z − LSE(z) would cancel two large numbers (all digits lost for ~1e4 float32 logits).
    shifted = z - np.max(z, axis=axis, keepdims=True)  # (..., C), ≤ 0, exactly 0 at the max
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def sigmoid(z: ArrayLike) -> NDArray[np.floating]:
    """σ(z) = 1 / (1 + e^−z) for z ≥ 0 and e^z / (1 + e^z) for z < 0: exp only of −|z|."""
    z = _checks.finite(z, "z")
    e = np.exp(-np.abs(z))  # in (0, 1]
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def log_sigmoid(z: ArrayLike) -> NDArray[np.floating]:
    """log σ(z) = −(max(−z, 0) + log(1 + e^−|z|)), exact for large |z| of either sign."""
    z = _checks.finite(z, "z")
    return -(np.maximum(-z, 0) + np.log1p(np.exp(-np.abs(z))))


def softmax_jacobian(z: ArrayLike) -> NDArray[np.floating]:
    """J = ∂σ(z)/∂z = diag(a) − a aᵀ with a = σ(z), i.e. J_ij = a_i (δ_ij − a_j); shape (..., C, C)."""
    a = softmax(z)  # (..., C)
    eye = np.eye(a.shape[-1], dtype=a.dtype)  # (C, C)
    return a[..., :, None] * (eye - a[..., None, :])  # (..., C, C)


def softmax_vjp(z: ArrayLike, g: ArrayLike) -> NDArray[np.floating]:
    """gᵀJ = a ⊙ (g − g·a) with a = σ(z): the vector–Jacobian product in O(C), no C×C matrix."""
    a = softmax(z)  # (..., C)
    g = _checks.finite(g, "g")
    if g.shape != a.shape:
        raise ValueError(f"g: expected the shape of z {a.shape}, got {g.shape}")
    g = g.astype(a.dtype, copy=False)
    return a * (g - np.sum(g * a, axis=-1, keepdims=True))
