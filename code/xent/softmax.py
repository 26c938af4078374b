"""Softmax, log-softmax, log-sum-exp and the sigmoid, stable and accurate for every finite input.

Accuracy. With m = max_j z_j, the sum Σ_j exp(z_j − m) is 1 + r, where r = Σ_{j ≠ argmax} exp(z_j − m)
is the *rest*. Rounding 1 + r and then taking log(1 + r) throws r away as soon as r < eps/2
(LSE([0, −40]) = 4.25e-18 would come out 0); the kernels below keep r on its own and take
log1p(r), so every result is within a few ulps of the exact one (tests: a 50-digit mpmath
reference). float16 input is computed in float32 and rounded once, as PyTorch does.

Speed. The public functions validate once and call the private row kernels, which take a
C-contiguous (M, C) array in the compute dtype and make one pass per step, in place.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _checks


# --------------------------------------------------------------------------- private kernels (unchecked)


def _rows(z: NDArray, axis: int) -> tuple[NDArray, tuple[int, ...]]:
    """Move `axis` last and flatten the rest: a C-contiguous (M, C) array in the compute dtype."""
    moved = np.moveaxis(z, axis, -1)
    z2 = np.ascontiguousarray(moved, dtype=_checks.compute_dtype(z.dtype))
    return z2.reshape(-1, z.shape[axis]), moved.shape


def _unrows(x2: NDArray, moved_shape: tuple[int, ...], axis: int, dtype: np.dtype) -> NDArray:
    """Undo _rows: (M, C) back to the input's layout, rounded once to `dtype`."""
    return np.moveaxis(x2.reshape(moved_shape), -1, axis).astype(dtype, copy=False)


def _lse_parts(z2: NDArray, out: NDArray | None = None) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """For (M, C) rows: the argmax k, the max m, e = exp(z − m) (into `out`) and the rest r = Σ_{j≠k} e_j.

    e[n, k_n] = 1 exactly; LSE = m + log1p(r) and softmax = e / (1 + r).
    """
    rows = np.arange(z2.shape[0])
    k = np.argmax(z2, axis=1)  # (M,)
    m = z2[rows, k]  # (M,)
    with np.errstate(over="ignore"):  # z − m may overflow to −inf (|z| near the float max): exp gives 0
        e = np.subtract(z2, m[:, None], out=out)  # (M, C), ≤ 0, exactly 0 at k
    np.exp(e, out=e)
    e[rows, k] = 0.0
    r = e.sum(axis=1)  # (M,) the rest, without the max's exp(0) = 1
    e[rows, k] = 1.0
    return k, m, e, r


def _softmax_rows(z2: NDArray) -> NDArray:
    """Softmax of each row of a (M, C) array: e / (1 + r), one division per entry."""
    _, _, e, r = _lse_parts(z2)
    return np.divide(e, (1.0 + r)[:, None], out=e)


def _log_softmax_rows(z2: NDArray) -> NDArray:
    """log σ(z) = (z − m) − log1p(r) for each row; exactly −log1p(r) = −r(1 − r/2 …) at the max."""
    rows = np.arange(z2.shape[0])
    k = np.argmax(z2, axis=1)
    with np.errstate(over="ignore"):
        d = z2 - z2[rows, k][:, None]  # (M, C) z − m
    e = np.exp(d)
    e[rows, k] = 0.0
    return np.subtract(d, np.log1p(e.sum(axis=1))[:, None], out=d)


def _sigmoid(z: NDArray) -> NDArray:
    """σ(z) = 1/(1 + e) for z ≥ 0 and e/(1 + e) for z < 0, with e = exp(−|z|) ∈ (0, 1]."""
    e = np.exp(-np.abs(z))
    return np.divide(np.where(z >= 0, 1.0, e), 1.0 + e)


def _log_sigmoid(z: NDArray) -> NDArray:
    """log σ(z) = −(max(−z, 0) + log1p(exp(−|z|))): a sum of two non-negative terms, no cancellation."""
    return -(np.maximum(-z, 0) + np.log1p(np.exp(-np.abs(z))))


# --------------------------------------------------------------------------- public functions


def logsumexp(z: ArrayLike, axis: int = -1, keepdims: bool = False) -> NDArray[np.floating]:
    """LSE(z) = m + log1p(Σ_{j≠k} exp(z_j − m)) with m = z_k = max_j z_j: no overflow, no lost tail."""
    z = _checks.finite(z, "z")
    ax = _checks.nonempty_axis(z, "z", axis)
    keepdims = _checks.flag(keepdims, "keepdims")
    z2, moved = _rows(z, ax)
    _, m, _, r = _lse_parts(z2)
    out = (m + np.log1p(r)).reshape(moved[:-1]).astype(z.dtype, copy=False)
    return np.expand_dims(out, ax) if keepdims else out


def softmax(z: ArrayLike, axis: int = -1) -> NDArray[np.floating]:
    """σ(z)_i = exp(z_i − m) / Σ_j exp(z_j − m), the max m subtracted first (shift invariance)."""
    z = _checks.finite(z, "z")
    ax = _checks.nonempty_axis(z, "z", axis)
    z2, moved = _rows(z, ax)
    return _unrows(_softmax_rows(z2), moved, ax, z.dtype)


def log_softmax(z: ArrayLike, axis: int = -1) -> NDArray[np.floating]:
    """log σ(z)_i = (z_i − m) − log1p(Σ_{j≠k} exp(z_j − m)): never log of an underflowed 0, no lost tail."""
    z = _checks.finite(z, "z")
    ax = _checks.nonempty_axis(z, "z", axis)
    z2, moved = _rows(z, ax)
    return _unrows(_log_softmax_rows(z2), moved, ax, z.dtype)


def sigmoid(z: ArrayLike) -> NDArray[np.floating]:
    """σ(z) = 1 / (1 + e^−z) for z ≥ 0 and e^z / (1 + e^z) for z < 0: exp only of −|z|."""
    z = _checks.finite(z, "z")
    return _sigmoid(z.astype(_checks.compute_dtype(z.dtype), copy=False)).astype(z.dtype, copy=False)


def log_sigmoid(z: ArrayLike) -> NDArray[np.floating]:
    """log σ(z) = −(max(−z, 0) + log1p(e^−|z|)), exact for large |z| of either sign."""
    z = _checks.finite(z, "z")
    return _log_sigmoid(z.astype(_checks.compute_dtype(z.dtype), copy=False)).astype(z.dtype, copy=False)


def softmax_jacobian(z: ArrayLike) -> NDArray[np.floating]:
    """J = ∂σ(z)/∂z = diag(a) − a aᵀ with a = σ(z), i.e. J_ij = a_i (δ_ij − a_j); shape (..., C, C)."""
    z = _checks.finite(z, "z")
    _checks.nonempty_axis(z, "z", -1)
    z2, moved = _rows(z, z.ndim - 1)
    a = _softmax_rows(z2).reshape(moved)  # (..., C) in the compute dtype
    eye = np.eye(a.shape[-1], dtype=a.dtype)  # (C, C)
    return (a[..., :, None] * (eye - a[..., None, :])).astype(z.dtype, copy=False)  # (..., C, C)


def softmax_vjp(z: ArrayLike, g: ArrayLike) -> NDArray[np.floating]:
    """gᵀJ = a ⊙ (g − g·a) with a = σ(z): the vector–Jacobian product in O(C), no C×C matrix."""
    z = _checks.finite(z, "z")
    _checks.nonempty_axis(z, "z", -1)
    g = _checks.finite(g, "g")
    if g.shape != z.shape:
        raise ValueError(f"g: expected the shape of z {z.shape}, got {g.shape}")
    z2, moved = _rows(z, z.ndim - 1)
    a = _softmax_rows(z2)  # (M, C)
    g2 = np.ascontiguousarray(g, dtype=a.dtype).reshape(a.shape)
    out = a * (g2 - np.sum(g2 * a, axis=-1, keepdims=True))
    return out.reshape(moved).astype(z.dtype, copy=False)
