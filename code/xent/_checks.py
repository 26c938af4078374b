"""Input validation shared by every xent function: clear ValueErrors, never a silent NaN.

Public functions validate their arguments here, once, at the boundary; the private kernels they
call (``_lse_parts``, ``_ce_index``, ...) trust what they are given.
"""

from __future__ import annotations

import numbers
import operator

import numpy as np
from numpy.typing import ArrayLike, NDArray

REDUCTIONS = ("mean", "sum", "none")


def array(x: ArrayLike, name: str) -> NDArray:
    """np.asarray(x), with a ValueError naming the argument for ragged nested lists and the like."""
    try:
        return np.asarray(x)
    except (ValueError, TypeError) as err:
        raise ValueError(f"{name}: expected an array ({err})") from None


def as_float(x: ArrayLike, name: str) -> NDArray[np.floating]:
    """Return x as a floating array; float32/float16 stay as they are, anything else becomes float64."""
    arr = array(x, name)
    if arr.dtype == np.bool_ or not (np.issubdtype(arr.dtype, np.number)):
        raise ValueError(f"{name}: expected a real numeric array, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError(f"{name}: expected real numbers, got dtype {arr.dtype}")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    return arr


def compute_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype arithmetic is done in: float16 in float32 (rounded once at the end, as PyTorch does)."""
    return np.dtype(np.float32) if np.dtype(dtype).itemsize < 4 else np.dtype(dtype)


def finite(x: ArrayLike, name: str) -> NDArray[np.floating]:
    """as_float(x), and raise unless every entry is finite."""
    arr = as_float(x, name)
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(arr.sum()):  # fast path, no temporary: a finite sum has only finite terms
            return arr
    if not np.all(np.isfinite(arr)):
        bad = arr[~np.isfinite(arr)].ravel()[0]
        raise ValueError(f"{name}: every entry must be finite, found {bad}")
    return arr


def integer(value: object, name: str) -> int:
    """Return value as a Python int; raise unless it is an integer (a bool is not)."""
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name}: expected an integer, got the bool {value}")
    try:
        return operator.index(value)
    except TypeError:
        raise ValueError(f"{name}: expected an integer, got {value!r}") from None


def real(value: object, name: str) -> float:
    """Return value as a Python float; raise unless it is a real number (not a bool, not a string)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise ValueError(f"{name}: expected a real number, got {value!r}")
    return float(value)


def flag(value: object, name: str) -> bool:
    """Return value as a bool; raise unless it is True or False."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name}: expected True or False, got {value!r}")
    return bool(value)


def axis_index(axis: object, ndim: int, name: str = "axis") -> int:
    """Return `axis` in [0, ndim); raise a ValueError naming it unless it is an integer in [−ndim, ndim)."""
    ax = integer(axis, name)
    if not -ndim <= ax < ndim:
        raise ValueError(f"{name}: {ax} is out of range for an array of {ndim} dimension(s) "
                         f"(expected an integer in [{-ndim}, {ndim}))")
    return ax % ndim


def nonempty_axis(x: NDArray, name: str, axis: object = -1) -> int:
    """Raise unless x has at least one dimension and a non-empty `axis`; return the axis in [0, ndim)."""
    if x.ndim == 0:
        raise ValueError(f"{name}: expected at least one dimension (the classes), got a scalar")
    ax = axis_index(axis, x.ndim)
    if x.shape[ax] == 0:
        raise ValueError(f"{name}: the class axis is empty (shape {x.shape})")
    return ax


def tolerance(dtype: np.dtype) -> float:
    """Tolerance for 'sums to 1' in this dtype: sqrt(machine epsilon)."""
    return float(np.sqrt(np.finfo(dtype).eps))


def distribution(p: ArrayLike, name: str, axis: object = -1) -> NDArray[np.floating]:
    """Return p as floats after checking it is a probability distribution along `axis`."""
    arr = finite(p, name)
    ax = nonempty_axis(arr, name, axis)
    if np.any(arr < 0):
        raise ValueError(f"{name}: probabilities must be non-negative, found {arr.min():g}")
    sums = arr.sum(axis=ax, dtype=np.float64)  # the check adds no rounding error of its own
    if not np.allclose(sums, 1.0, rtol=0.0, atol=tolerance(arr.dtype) * max(1, arr.shape[ax]) ** 0.5):
        worst = np.ravel(sums)[np.argmax(np.abs(np.ravel(sums) - 1.0))]
        raise ValueError(f"{name}: each distribution must sum to 1 along axis {axis}, found a sum of {worst:.6g}")
    return arr


def log_base(base: object) -> float | None:
    """ln(base) for converting nats to another unit; None means nats."""
    if base is None:
        return None
    b = real(base, "base")
    if not np.isfinite(b) or b <= 0 or b == 1:
        raise ValueError(f"base: expected a positive number other than 1 (or None for nats), got {base}")
    return float(np.log(b))


def reduction(value: object) -> str:
    """Raise unless value is one of 'mean', 'sum', 'none'."""
    if not isinstance(value, str) or value not in REDUCTIONS:
        raise ValueError(f"reduction: expected one of {REDUCTIONS}, got {value!r}")
    return value


def reduce(losses: NDArray, how: str, denominator: float | None = None, dtype: np.dtype | None = None) -> NDArray:
    """Apply a reduction: 'none' keeps the array, 'sum' adds it up, 'mean' divides the sum.

    The sum is accumulated in (at least) float64 and rounded once to `dtype` (default: losses.dtype).
    """
    out = np.dtype(dtype or losses.dtype)
    if how == "none":
        return losses.astype(out, copy=False)
    acc = np.promote_types(losses.dtype, np.float64)
    total = losses.sum(dtype=acc)
    if how == "sum":
        return out.type(total)
    count = losses.size if denominator is None else denominator
    return out.type(total / acc.type(count))
