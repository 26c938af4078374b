"""Input validation shared by every xent function: clear ValueErrors, never a silent NaN."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

REDUCTIONS = ("mean", "sum", "none")


def as_float(x: ArrayLike, name: str) -> NDArray[np.floating]:
    """Return x as a floating array; float32/float16 stay as they are, anything else becomes float64."""
    arr = np.asarray(x)
    if arr.dtype == np.bool_ or not (np.issubdtype(arr.dtype, np.number)):
        raise ValueError(f"{name}: expected a real numeric array, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError(f"{name}: expected real numbers, got dtype {arr.dtype}")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    return arr


def finite(x: ArrayLike, name: str) -> NDArray[np.floating]:
    """as_float(x), and raise unless every entry is finite."""
    arr = as_float(x, name)
    if not np.all(np.isfinite(arr)):
        bad = arr[~np.isfinite(arr)].ravel()[0]
        raise ValueError(f"{name}: every entry must be finite, found {bad}")
    return arr


def nonempty_axis(x: NDArray, name: str, axis: int = -1) -> None:
    """Raise unless x has at least one dimension and a non-empty `axis`."""
    if x.ndim == 0:
        raise ValueError(f"{name}: expected at least one dimension (the classes), got a scalar")
    if x.shape[axis] == 0:
        raise ValueError(f"{name}: the class axis is empty (shape {x.shape})")


def tolerance(dtype: np.dtype) -> float:
    """Tolerance for 'sums to 1' in this dtype: sqrt(machine epsilon)."""
    return float(np.sqrt(np.finfo(dtype).eps))


def distribution(p: ArrayLike, name: str, axis: int = -1) -> NDArray[np.floating]:
    """Return p as floats after checking it is a probability distribution along `axis`."""
    arr = finite(p, name)
    nonempty_axis(arr, name, axis)
    if np.any(arr < 0):
        raise ValueError(f"{name}: probabilities must be non-negative, found {arr.min():g}")
    sums = arr.sum(axis=axis)
    if not np.allclose(sums, 1.0, rtol=0.0, atol=tolerance(arr.dtype) * max(1, arr.shape[axis]) ** 0.5):
        worst = np.ravel(sums)[np.argmax(np.abs(np.ravel(sums) - 1.0))]
        raise ValueError(f"{name}: each distribution must sum to 1 along axis {axis}, found a sum of {worst:.6g}")
    return arr


def log_base(base: float | None) -> float | None:
    """ln(base) for converting nats to another unit; None means nats."""
    if base is None:
        return None
    if not np.isfinite(base) or base <= 0 or base == 1:
        raise ValueError(f"base: expected a positive number other than 1 (or None for nats), got {base}")
    return float(np.log(base))


def reduction(value: str) -> str:
    """Raise unless value is one of 'mean', 'sum', 'none'."""
    if value not in REDUCTIONS:
        raise ValueError(f"reduction: expected one of {REDUCTIONS}, got {value!r}")
    return value


def reduce(losses: NDArray, how: str, denominator: float | NDArray | None = None) -> NDArray:
    """Apply a reduction: 'none' keeps the array, 'sum' adds it up, 'mean' divides the sum."""
    if how == "none":
        return losses
    total = losses.sum(dtype=losses.dtype)
    if how == "sum":
        return total
    count = losses.size if denominator is None else denominator
    return (total / count).astype(losses.dtype)
