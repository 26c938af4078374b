"""Cross-entropy losses with the semantics of torch.nn.functional, and their gradients.

Every loss is computed from log-softmax (or log-sigmoid), so nothing is clipped and any finite
logit is safe. Every gradient is the σ − Y form derived in the book.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _checks
from .softmax import log_sigmoid, log_softmax, sigmoid, softmax


def one_hot(target: ArrayLike, num_classes: int, dtype: type = np.float64) -> NDArray[np.floating]:
    """Y[..., c] = 1 if target[...] == c else 0; shape target.shape + (num_classes,)."""
    t = np.asarray(target)
    if not np.issubdtype(t.dtype, np.integer):
        raise ValueError(f"target: expected integer class indices, got dtype {t.dtype}")
    if np.any((t < 0) | (t >= num_classes)):
        bad = t[(t < 0) | (t >= num_classes)].ravel()[0]
        raise ValueError(f"target: class index {bad} is out of range [0, {num_classes})")
    return (t[..., None] == np.arange(num_classes)).astype(dtype)


class _Prepared(NamedTuple):
    """Logits with the class axis last, and the effective target matrix T with the same shape."""

    z: NDArray  # (M..., C) logits, class axis last
    t: NDArray  # (M..., C) effective (weighted, smoothed) targets: loss = −Σ_c T_c log σ(z)_c
    denominator: float  # what 'mean' divides by
    unbatched: bool


def _classes_last(logits: NDArray) -> tuple[NDArray, bool]:
    """(C,) → (1, C); (N, C, d1, …) → (N, d1, …, C)."""
    if logits.ndim == 1:
        return logits[None, :], True
    return np.moveaxis(logits, 1, -1), False


def _prepare(logits, target, weight, ignore_index, label_smoothing, reduction) -> _Prepared:
    """Validate every argument and build the effective targets shared by the loss and its gradient."""
    _checks.reduction(reduction)
    z = _checks.finite(logits, "logits")
    _checks.nonempty_axis(z, "logits", 0 if z.ndim == 1 else 1)
    z, unbatched = _classes_last(z)  # (M..., C)
    n_classes = z.shape[-1]
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing: expected a number in [0, 1], got {label_smoothing}")
    if weight is None:
        w = np.ones(n_classes, dtype=z.dtype)  # (C,)
    else:
        w = _checks.finite(weight, "weight").astype(z.dtype)
        if w.shape != (n_classes,):
            raise ValueError(f"weight: expected shape ({n_classes},), one weight per class, got {w.shape}")
    eps = label_smoothing

    y = np.asarray(target)
    if np.issubdtype(y.dtype, np.integer):  # class indices: shape of logits without the class axis
        expected = z.shape[:-1] if not unbatched else ()
        if y.shape != expected:
            raise ValueError(f"target: class indices of shape {expected} expected for logits of shape "
                             f"{np.shape(logits)}, got {y.shape}")
        y = y.reshape(z.shape[:-1])  # (M...)
        kept = y != ignore_index  # (M...)
        out = kept & ((y < 0) | (y >= n_classes))
        if np.any(out):
            raise ValueError(f"target: class index {y[out].ravel()[0]} is out of range [0, {n_classes}) "
                             f"(logits have C = {n_classes} classes; ignore_index = {ignore_index})")
        safe = np.where(kept, y, 0)
        onehot = one_hot(safe, n_classes, z.dtype)  # (M..., C)
        t = (1 - eps) * onehot * w[safe][..., None] + (eps / n_classes) * w  # (M..., C)
        t = t * kept[..., None]
        denominator = float(np.sum(w[safe] * kept))  # Σ of the weights of the counted targets
        if reduction == "mean" and not np.any(kept):  # torch returns 0/0 = nan here
            raise ValueError(f"target: every entry equals ignore_index ({ignore_index}); the mean is 0/0")
        if reduction == "mean" and denominator == 0:
            raise ValueError("weight: the weights of the counted targets sum to 0, so their weighted mean is 0/0")
    elif np.issubdtype(y.dtype, np.floating):  # class probabilities: the shape of logits
        if ignore_index != -100:  # as in torch: no class index to compare with
            raise ValueError(f"ignore_index: only class-index targets can be ignored, got ignore_index = "
                             f"{ignore_index} with probability targets")
        if y.shape != np.shape(logits):
            raise ValueError(f"target: probabilities must have the shape of logits {np.shape(logits)}, got {y.shape}")
        y = _checks.distribution(y, "target", axis=0 if unbatched else 1)
        y, _ = _classes_last(y.astype(z.dtype, copy=False))  # (M..., C)
        t = (y * (1 - eps) + eps / n_classes) * w  # (M..., C)
        denominator = float(z.size // n_classes)  # the number of samples (and positions)
    else:
        raise ValueError(f"target: expected integer class indices or floating probabilities, got dtype {y.dtype}")
    return _Prepared(z, t.astype(z.dtype, copy=False), denominator, unbatched)


def cross_entropy(
    logits: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> NDArray[np.floating]:
    """ℓ = −Σ_c T_c log σ(z)_c per sample, then reduced; the semantics of F.cross_entropy."""
    p = _prepare(logits, target, weight, ignore_index, label_smoothing, reduction)
    losses = 0.0 - np.sum(p.t * log_softmax(p.z), axis=-1)  # (M...); 0.0 − x: ignored entries are +0.0
    if p.unbatched:
        losses = losses[0]
    return _checks.reduce(losses, reduction, p.denominator)


def cross_entropy_grad(
    logits: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> NDArray[np.floating]:
    """∂loss/∂logits = σ(z)·Σ_c T_c − T (= σ(z) − y for one-hot y), divided by the mean's denominator."""
    p = _prepare(logits, target, weight, ignore_index, label_smoothing, reduction)
    grad = softmax(p.z) * np.sum(p.t, axis=-1, keepdims=True) - p.t  # (M..., C)
    if reduction == "mean":
        grad = grad / p.denominator
    grad = grad[0] if p.unbatched else np.moveaxis(grad, -1, 1)
    return grad.astype(p.z.dtype, copy=False)


class CrossEntropyLoss:
    """A teaching loss layer: forward(A, Y) = mean_n −Σ_c Y_nc log σ(A)_nc; backward() = (σ(A) − Y)/N."""

    def __init__(self) -> None:
        self.probs: NDArray | None = None  # σ(A) from the last forward, (N, C)
        self.targets: NDArray | None = None  # Y from the last forward, (N, C)

    def forward(self, A: ArrayLike, Y: ArrayLike) -> NDArray[np.floating]:
        """Mean cross-entropy of logits A (N, C) against target distributions Y (N, C)."""
        A = _checks.finite(A, "A")
        if A.ndim != 2:
            raise ValueError(f"A: expected logits of shape (N, C), got {A.shape}")
        Y = _checks.distribution(Y, "Y", axis=1)
        if Y.shape != A.shape:
            raise ValueError(f"Y: expected the shape of A {A.shape}, got {Y.shape}")
        self.probs = softmax(A)  # stored under a name of its own, never over the method
        self.targets = Y.astype(A.dtype, copy=False)
        losses = -np.sum(self.targets * log_softmax(A), axis=1)  # (N,)
        return losses.mean(dtype=A.dtype)

    def backward(self) -> NDArray[np.floating]:
        """∂(mean loss)/∂A = (σ(A) − Y) / N, using Σ_c Y_nc = 1."""
        if self.probs is None or self.targets is None:
            raise ValueError("backward: call forward(A, Y) first")
        return (self.probs - self.targets) / self.probs.shape[0]  # (N, C)


def _prepare_binary(logits, target, weight, pos_weight) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """Validate binary-cross-entropy arguments; return z, y, w, p broadcast to z's shape."""
    z = _checks.finite(logits, "logits")
    y = np.asarray(target)
    if not np.issubdtype(y.dtype, np.floating):
        raise ValueError(f"target: expected floating-point targets in [0, 1] (e.g. 1.0, not 1), got dtype {y.dtype}")
    y = _checks.finite(y, "target")
    if y.shape != z.shape:
        raise ValueError(f"target: expected the shape of logits {z.shape}, got {y.shape}")
    if np.any((y < 0) | (y > 1)):
        raise ValueError(f"target: expected values in [0, 1], found {y[(y < 0) | (y > 1)].ravel()[0]:g}")

    def broadcast(x, name):
        if x is None:
            return np.ones_like(z)
        x = _checks.finite(x, name).astype(z.dtype)
        try:
            return np.broadcast_to(x, z.shape)
        except ValueError:
            raise ValueError(f"{name}: shape {x.shape} does not broadcast to the logits' shape {z.shape}") from None

    return z, y.astype(z.dtype, copy=False), broadcast(weight, "weight"), broadcast(pos_weight, "pos_weight")


def binary_cross_entropy_with_logits(
    logits: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    pos_weight: ArrayLike | None = None,
    reduction: str = "mean",
) -> NDArray[np.floating]:
    """ℓ = −w [p·y log σ(z) + (1 − y) log σ(−z)], with log-sigmoid so that no term overflows."""
    _checks.reduction(reduction)
    z, y, w, p = _prepare_binary(logits, target, weight, pos_weight)
    losses = -w * (p * y * log_sigmoid(z) + (1 - y) * log_sigmoid(-z))
    return _checks.reduce(losses, reduction)


def binary_cross_entropy_with_logits_grad(
    logits: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    pos_weight: ArrayLike | None = None,
    reduction: str = "mean",
) -> NDArray[np.floating]:
    """∂ℓ/∂z = w [σ(z)(p·y + 1 − y) − p·y]; = σ(z) − y when w = p = 1."""
    _checks.reduction(reduction)
    z, y, w, p = _prepare_binary(logits, target, weight, pos_weight)
    grad = w * (sigmoid(z) * (p * y + 1 - y) - p * y)
    return grad / z.size if reduction == "mean" else grad
