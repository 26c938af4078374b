"""Cross-entropy losses with the semantics of torch.nn.functional, and their gradients.

Every loss is computed from the shifted logits, so nothing is clipped and any finite logit is safe;
every gradient is the σ − Y form derived in the book.

Accuracy: the loss of a sample is (m − z_t) + log1p(r), with m the row's max and r the sum of the
other exponentials, so a confidently correct sample (loss ≈ r) keeps all its digits; the gradient
at the true class is −(1 − a_t) computed as −(the other exponentials)/(their sum), never as a_t − 1.
float16 is computed in float32 and rounded once.

Speed: the public functions validate once (``_prepare`` / ``_prepare_binary``) and call the
unchecked kernels ``_ce_index``, ``_ce_prob`` and ``_bce``. For class-index targets the only
N×C array made is the one that becomes the gradient (no one-hot matrix); ``cross_entropy_and_grad``
returns the loss and its gradient from that one pass.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _checks
from .softmax import _log_softmax_rows, _softmax_rows


def one_hot(target: ArrayLike, num_classes: int, dtype: type = np.float64) -> NDArray[np.floating]:
    """Y[..., c] = 1 if target[...] == c else 0; shape target.shape + (num_classes,)."""
    n = _checks.integer(num_classes, "num_classes")
    if n < 1:
        raise ValueError(f"num_classes: expected a positive integer, got {n}")
    try:
        out_dtype = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"dtype: expected a NumPy dtype, got {dtype!r}") from None
    t = _checks.array(target, "target")
    if not np.issubdtype(t.dtype, np.integer):
        raise ValueError(f"target: expected integer class indices, got dtype {t.dtype}")
    outside = (t < 0) | (t >= n)
    if np.any(outside):
        raise ValueError(f"target: class index {t[outside].ravel()[0]} is out of range [0, {n})")
    y = np.zeros(t.shape + (n,), dtype=out_dtype)
    np.put_along_axis(y, t[..., None].astype(np.intp), 1, axis=-1)
    return y


# --------------------------------------------------------------------------- validation, once


class _Prepared(NamedTuple):
    """Validated cross-entropy arguments: (M, C) logits in the compute dtype, and what the kernels need."""

    z: NDArray  # (M, C) logits, class axis last, C-contiguous, compute dtype
    y: NDArray  # (M,) class indices (ignored rows set to 0), or (M, C) probabilities
    kept: NDArray | None  # (M,) bool, False where target == ignore_index; None when every row counts
    w: NDArray | None  # (C,) class weights in the compute dtype, or None
    eps: float  # label smoothing
    denominator: float  # what 'mean' divides by
    reduction: str
    dtype: np.dtype  # the output dtype (the logits')
    shape: tuple[int, ...]  # the logits' shape
    unbatched: bool


def _classes_last(x: NDArray, dtype: np.dtype) -> NDArray:
    """(C,) → (1, C); (N, C, d1, …) → (N·d1·…, C), C-contiguous in `dtype`."""
    if x.ndim == 1:
        return np.ascontiguousarray(x[None, :], dtype=dtype)
    moved = np.moveaxis(x, 1, -1)
    return np.ascontiguousarray(moved, dtype=dtype).reshape(-1, x.shape[1])


def _restore(g2: NDArray, p: _Prepared) -> NDArray:
    """(M, C) gradient back to the logits' layout and dtype."""
    if p.unbatched:
        return g2[0].astype(p.dtype, copy=False)
    moved = (p.shape[0],) + p.shape[2:] + (p.shape[1],)
    return np.moveaxis(g2.reshape(moved), -1, 1).astype(p.dtype, copy=False)


def _prepare(logits, target, weight, ignore_index, label_smoothing, reduction) -> _Prepared:
    """Validate every argument of cross_entropy (and friends) once."""
    reduction = _checks.reduction(reduction)
    z = _checks.finite(logits, "logits")
    _checks.nonempty_axis(z, "logits", 0 if z.ndim == 1 else 1)
    unbatched = z.ndim == 1
    n_classes = z.shape[0 if unbatched else 1]
    work = _checks.compute_dtype(z.dtype)
    eps = _checks.real(label_smoothing, "label_smoothing")
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"label_smoothing: expected a number in [0, 1], got {label_smoothing}")
    ignore_index = _checks.integer(ignore_index, "ignore_index")
    w = None
    if weight is not None:
        w = _checks.finite(weight, "weight")
        if w.shape != (n_classes,):
            raise ValueError(f"weight: expected shape ({n_classes},), one weight per class, got {w.shape}")
        w = w.astype(work)

    y = _checks.array(target, "target")
    if np.issubdtype(y.dtype, np.integer):  # class indices: shape of logits without the class axis
        expected = () if unbatched else (z.shape[0],) + z.shape[2:]
        if y.shape != expected:
            raise ValueError(f"target: class indices of shape {expected} expected for logits of shape "
                             f"{z.shape}, got {y.shape}")
        y = y.reshape(-1)  # (M,)
        kept = y != ignore_index  # (M,)
        out = kept & ((y < 0) | (y >= n_classes))
        if np.any(out):
            raise ValueError(f"target: class index {y[out][0]} is out of range [0, {n_classes}) "
                             f"(logits have C = {n_classes} classes; ignore_index = {ignore_index})")
        y = y.astype(np.intp, copy=False)  # every counted index is in [0, C) now
        all_kept = bool(np.all(kept))
        safe = y if all_kept else np.where(kept, y, 0)
        if w is None:
            denominator = float(np.count_nonzero(kept))
        else:
            denominator = float(np.sum(w[safe] * kept, dtype=np.float64))  # Σ weights of the counted targets
        if reduction == "mean" and not np.any(kept):  # torch returns 0/0 = nan here
            raise ValueError(f"target: every entry equals ignore_index ({ignore_index}); the mean is 0/0")
        if reduction == "mean" and denominator == 0:
            raise ValueError("weight: the weights of the counted targets sum to 0, so their weighted mean is 0/0")
        return _Prepared(_classes_last(z, work), safe, None if all_kept else kept, w, eps, denominator,
                         reduction, z.dtype, z.shape, unbatched)
    if np.issubdtype(y.dtype, np.floating):  # class probabilities: the shape of logits
        if ignore_index >= 0:  # as in torch: a negative ignore_index (the default −100) is accepted, unused
            raise ValueError(f"ignore_index: probability targets have no class index to ignore; torch rejects "
                             f"ignore_index ≥ 0 with them, got ignore_index = {ignore_index}")
        if y.shape != z.shape:
            raise ValueError(f"target: probabilities must have the shape of logits {z.shape}, got {y.shape}")
        y = _checks.distribution(y, "target", axis=0 if unbatched else 1)
        n_rows = z.size // n_classes
        if reduction == "mean" and n_rows == 0:
            raise ValueError(f"logits: no samples (shape {z.shape}); the mean is 0/0")
        return _Prepared(_classes_last(z, work), _classes_last(y, work), None, w, eps, float(n_rows),
                         reduction, z.dtype, z.shape, unbatched)
    raise ValueError(f"target: expected integer class indices or floating probabilities, got dtype {y.dtype}")


# --------------------------------------------------------------------------- kernels (unchecked)


def _row_scale(p: _Prepared) -> NDArray | float:
    """The factor each row's gradient is multiplied by: kept / denominator for 'mean', kept otherwise."""
    base = 1.0 / p.denominator if p.reduction == "mean" else 1.0
    return base if p.kept is None else base * p.kept


_CE_BLOCK = 1 << 16  # elements per block of rows: the block's working set stays in the L2 cache


def _ce_index(p: _Prepared, want_grad: bool) -> tuple[NDArray, NDArray | None]:
    """Per-row losses (M,) and, if asked, the gradient (M, C) for class-index targets.

    The N×C work is done block by block of rows, each block in the cache: z − m, exp, the row sums,
    the scaling to a·ΣT/denominator. The gradient is the only N×C array made (no one-hot matrix);
    the loss alone needs one block of scratch. The per-row scalars (loss, the true class's entry,
    computed as −(1 − a_t) without cancellation) are vector operations on (M,) arrays afterwards.
    """
    z, t, w, eps, kept = p.z, p.y, p.w, p.eps, p.kept
    M, C = z.shape
    step = max(1, _CE_BLOCK // C)
    sw = (float(w.sum(dtype=np.float64)) if w is not None else float(C)) if eps else 0.0
    wt = w[t].astype(np.float64) if w is not None else 1.0  # (M,) the true classes' weights
    rr = _row_scale(p)  # the gradient's row scale: a scalar, or (M,) with zeros at ignored rows
    big_w = (1.0 - eps) * wt + (eps / C) * sw  # Σ_c T_c per row
    k = np.empty(M, dtype=np.intp)  # argmax per row
    m = np.empty(M, dtype=z.dtype)  # max per row
    r = np.empty(M)  # the rest Σ_{j≠k} exp(z_j − m), in float64
    et = np.empty(M)  # exp(z_t − m)
    sm = np.empty(M) if eps else None  # Σ_c w_c (m − z_c), for label smoothing
    grad = np.empty_like(z) if want_grad else None
    scratch = None if want_grad else np.empty((min(step, M), C), dtype=z.dtype)
    for i in range(0, M, step):
        j = slice(i, min(i + step, M))
        zb = z[j]
        g = grad[j] if want_grad else scratch[: zb.shape[0]]
        rows = np.arange(zb.shape[0])
        kb = k[j] = np.argmax(zb, axis=1)
        mb = m[j] = zb[rows, kb]
        with np.errstate(over="ignore"):  # z − m may overflow to −inf near the float max: exp gives 0
            np.subtract(zb, mb[:, None], out=g)  # (B, C) z − m ≤ 0, exactly 0 at k
        if eps:  # from z − m, before the exp overwrites it; every term ≥ 0
            np.maximum(g, -np.finfo(g.dtype).max, out=g)  # an overflowed −inf times a zero weight: not nan
            sm[j] = -(g @ w) if w is not None else -g.sum(axis=1, dtype=np.float64)
        np.exp(g, out=g)
        g[rows, kb] = 0.0
        r[j] = rb = g.sum(axis=1)
        g[rows, kb] = 1.0
        et[j] = g[rows, t[j]]
        if want_grad:
            scale = big_w * rr if np.ndim(big_w * rr) == 0 else (big_w * rr)[j]
            g *= (scale / (1.0 + rb.astype(np.float64))).astype(g.dtype)[:, None]  # a·ΣT·scale
            if eps:
                g -= np.asarray((eps / C) * (rr if np.ndim(rr) == 0 else rr[j][:, None])
                                * (w if w is not None else 1.0), dtype=g.dtype)
    log1p_r = np.log1p(r)
    loss = (1.0 - eps) * wt * ((m - z[np.arange(M), t]).astype(np.float64) + log1p_r)  # −log a_t ≥ 0
    if eps:
        loss = loss + (eps / C) * (sm + sw * log1p_r)  # −Σ_c (ε/C) w_c log a_c
    if kept is not None:
        loss = np.where(kept, loss, 0.0)
    if not want_grad:
        return loss, None
    s = 1.0 + r
    rest_t = np.where(t == k, r, s - et)  # Σ_{j≠t} exp(z_j − m), without cancellation
    gt = -wt * (rest_t / s) * (1.0 - eps + eps / C)  # rest_t / s = 1 − a_t, accurate even when a_t ≈ 1
    if eps:
        gt = gt + (eps / C) * (et / s) * (sw - wt)
    gt = gt * rr
    grad[np.arange(M), t] = gt if kept is None else np.where(kept, gt, 0.0)
    return loss, grad


def _ce_prob(p: _Prepared, want_grad: bool) -> tuple[NDArray, NDArray | None]:
    """Per-row losses (M,) and the gradient (M, C) for probability targets T = ((1 − ε)Y + ε/C)·w."""
    z, y, w, eps = p.z, p.y, p.w, p.eps
    M, C = z.shape
    T = y if not eps else y * (1 - eps) + eps / C
    if w is not None:
        T = T * w
    rows = np.arange(M)
    k = np.argmax(z, axis=1)
    m = z[rows, k]
    with np.errstate(over="ignore"):
        d = np.subtract(z, m[:, None])  # (M, C) z − m ≤ 0
    np.maximum(d, -np.finfo(d.dtype).max, out=d)  # z − m overflowed to −inf: a zero target times it is 0, not nan
    cross = -np.einsum("ij,ij->i", T, d, dtype=np.float64)  # Σ_c T_c (m − z_c) ≥ 0
    e = np.exp(d, out=d)
    e[rows, k] = 0.0
    r = e.sum(axis=1).astype(np.float64)  # the column k is set last, from r
    st = T.sum(axis=1, dtype=np.float64)  # Σ_c T_c
    loss = cross + st * np.log1p(r)  # −Σ_c T_c log a_c
    if not want_grad:
        return loss, None
    s = 1.0 + r
    rr = _row_scale(p)
    tk = T[rows, k].astype(np.float64)
    e *= (st * rr / s).astype(e.dtype)[:, None]  # a · Σ T · scale
    e -= T * e.dtype.type(rr)  # rr is a scalar here: probability targets ignore no row
    # at the argmax a_k ≈ 1 is possible: a_k ΣT − T_k = a_k (ΣT − T_k) − T_k (1 − a_k), 1 − a_k = r / s
    e[rows, k] = ((st - tk) / s - tk * (r / s)) * rr
    return loss, e


def _ce(p: _Prepared, want_grad: bool):
    """Dispatch to the index or probability kernel; reduce the loss, restore the gradient's layout."""
    kernel = _ce_index if p.y.ndim == 1 else _ce_prob
    losses, grad = kernel(p, want_grad)
    if p.reduction == "none":
        loss = losses[0] if p.unbatched else losses.reshape((p.shape[0],) + p.shape[2:])
        loss = loss.astype(p.dtype, copy=False)
    else:
        loss = _checks.reduce(losses, p.reduction, p.denominator, p.dtype)
    return loss, (None if grad is None else _restore(grad, p))


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
    return _ce(p, want_grad=False)[0]


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
    return _ce(p, want_grad=True)[1]


def cross_entropy_and_grad(
    logits: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> tuple[NDArray[np.floating], NDArray[np.floating]]:
    """(cross_entropy(...), cross_entropy_grad(...)) from one validation and one pass: for training loops."""
    p = _prepare(logits, target, weight, ignore_index, label_smoothing, reduction)
    return _ce(p, want_grad=True)


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
        if A.shape[0] == 0 or A.shape[1] == 0:
            raise ValueError(f"A: expected at least one sample and one class, got shape {A.shape}")
        if _checks.array(Y, "Y").shape != A.shape:
            raise ValueError(f"Y: expected the shape of A {A.shape}, got {np.shape(Y)}")
        Y = _checks.distribution(Y, "Y", axis=1)
        work = _checks.compute_dtype(A.dtype)
        A2 = np.ascontiguousarray(A, dtype=work)
        self.probs = _softmax_rows(A2).astype(A.dtype, copy=False)  # stored under a name of its own
        self.targets = Y.astype(A.dtype, copy=False)
        losses = -np.sum(Y.astype(work, copy=False) * _log_softmax_rows(A2), axis=1)  # (N,)
        return _checks.reduce(losses, "mean", None, A.dtype)

    def backward(self) -> NDArray[np.floating]:
        """∂(mean loss)/∂A = (σ(A) − Y) / N, using Σ_c Y_nc = 1."""
        if self.probs is None or self.targets is None:
            raise ValueError("backward: call forward(A, Y) first")
        return (self.probs - self.targets) / self.probs.shape[0]  # (N, C)


# --------------------------------------------------------------------------- binary cross-entropy


class _Binary(NamedTuple):
    z: NDArray  # logits in the compute dtype
    y: NDArray  # targets in [0, 1], compute dtype, z's shape
    w: NDArray | None  # weight broadcast to z's shape, or None
    pw: NDArray | None  # pos_weight broadcast to z's shape, or None
    reduction: str
    dtype: np.dtype


def _prepare_binary(logits, target, weight, pos_weight, reduction) -> _Binary:
    """Validate binary-cross-entropy arguments once."""
    reduction = _checks.reduction(reduction)
    z = _checks.finite(logits, "logits")
    y = _checks.array(target, "target")
    if not np.issubdtype(y.dtype, np.floating):
        raise ValueError(f"target: expected floating-point targets in [0, 1] (e.g. 1.0, not 1), got dtype {y.dtype}")
    y = _checks.finite(y, "target")
    if y.shape != z.shape:
        raise ValueError(f"target: expected the shape of logits {z.shape}, got {y.shape}")
    if y.size and (y.min() < 0 or y.max() > 1):
        bad = y[(y < 0) | (y > 1)].ravel()[0]
        raise ValueError(f"target: expected values in [0, 1], found {bad:g}")
    if reduction == "mean" and z.size == 0:
        raise ValueError(f"logits: no elements (shape {z.shape}); the mean is 0/0")
    work = _checks.compute_dtype(z.dtype)

    def broadcast(x, name):
        if x is None:
            return None
        x = _checks.finite(x, name).astype(work)
        try:
            return np.broadcast_to(x, z.shape)
        except ValueError:
            raise ValueError(f"{name}: shape {x.shape} does not broadcast to the logits' shape {z.shape}") from None

    return _Binary(z.astype(work, copy=False), y.astype(work, copy=False), broadcast(weight, "weight"),
                   broadcast(pos_weight, "pos_weight"), reduction, z.dtype)


_BCE_BLOCK = 1 << 15  # elements per block: a block's temporaries stay in the L2 cache and are reused


def _bce_block(z, y, w, pw, loss_out, grad_out, count: float) -> None:
    """BCE-with-logits loss and gradient of one 1-D block, written into loss_out / grad_out (either None).

    With e = exp(−|z|), u = [z ≥ 0] ∈ {0, 1} and q = u + (1 − u)·p (1 or the pos_weight p):
    loss = P·z + (1 + (p − 1)·y)·log1p(e), P = u − q·y, which is 1 − y for z ≥ 0 and −p·y for z < 0, so
    P·z ≥ 0: two non-negative terms, none cancels (for p = 1 the second factor is 1).
    grad = (P + Q·e)/(1 + e), Q = (1 − u) − (1 − u + u·p)·y: that is (1 − y)σ(z) − p·y·σ(−z), because
    σ(z) = 1/(1 + e) for z ≥ 0 and e/(1 + e) for z < 0; for y ∈ {0, 1} one of P, Q is 0.
    The gradient is divided by `count` (the mean's N, or 1). No np.where: it is slow on random masks.
    """
    u = np.greater_equal(z, 0).astype(z.dtype)  # 1 where z ≥ 0, else 0 (np.heaviside is 10× slower)
    e = np.abs(z)
    np.negative(e, out=e)
    np.exp(e, out=e)  # e = exp(−|z|) ∈ (0, 1]
    if pw is None:
        P = u - y  # exactly 1 − y or −y
    else:
        q = (1 - u) * pw + u  # exactly p or 1
        P = u - q * y
    if loss_out is not None:
        np.log1p(e, out=loss_out)
        if pw is not None:
            loss_out *= 1 + (pw - 1) * y
        loss_out += P * z
        if w is not None:
            loss_out *= w
    if grad_out is not None:
        np.subtract(1, u, out=grad_out)  # 1 − u
        if pw is None:
            grad_out -= y  # Q = (1 − u) − y: −y or 1 − y
        else:
            grad_out -= (1 - u + u * pw) * y  # Q = −p·y or 1 − y
        grad_out *= e
        grad_out += P
        e += 1
        e *= count  # the mean's N, or exactly 1
        grad_out /= e
        if w is not None:
            grad_out *= w


def _bce(b: _Binary, want_loss: bool, want_grad: bool) -> tuple[NDArray | None, NDArray | None]:
    """The reduced loss (or the per-element losses for 'none') and the gradient, block by block.

    Per-element losses are only stored for 'none'; for 'mean' and 'sum' each block's losses go to a
    reused scratch block and only their float64 sum is kept.
    """
    shape, n = b.z.shape, b.z.size
    z, y = b.z.reshape(-1), b.y.reshape(-1)  # views for contiguous input
    w = None if b.w is None else b.w.reshape(-1)  # a copy when the weight was broadcast
    pw = None if b.pw is None else b.pw.reshape(-1)
    keep = want_loss and b.reduction == "none"
    loss = np.empty(n if keep else min(n, _BCE_BLOCK), dtype=z.dtype) if want_loss else None
    grad = np.empty(n, dtype=z.dtype) if want_grad else None
    count = float(n) if b.reduction == "mean" else 1.0
    total = 0.0
    for i in range(0, n, _BCE_BLOCK):
        j = slice(i, i + _BCE_BLOCK)
        block = None if loss is None else (loss[j] if keep else loss[: min(_BCE_BLOCK, n - i)])
        _bce_block(z[j], y[j], None if w is None else w[j], None if pw is None else pw[j],
                   block, None if grad is None else grad[j], count)
        if want_loss and not keep:
            total += float(block.sum(dtype=np.float64))
    if not want_loss:
        out = None
    elif keep:
        out = loss.reshape(shape).astype(b.dtype, copy=False)
    else:
        out = b.dtype.type(total / count)
    return out, (None if grad is None else grad.reshape(shape).astype(b.dtype, copy=False))


def binary_cross_entropy_with_logits(
    logits: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    pos_weight: ArrayLike | None = None,
    reduction: str = "mean",
) -> NDArray[np.floating]:
    """ℓ = −w [p·y log σ(z) + (1 − y) log σ(−z)], computed as non-negative terms so that none cancels."""
    b = _prepare_binary(logits, target, weight, pos_weight, reduction)
    return _bce(b, True, False)[0]


def binary_cross_entropy_with_logits_grad(
    logits: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    pos_weight: ArrayLike | None = None,
    reduction: str = "mean",
) -> NDArray[np.floating]:
    """∂ℓ/∂z = w [(1 − y)σ(z) − p·y·σ(−z)]; = σ(z) − y when w = p = 1."""
    b = _prepare_binary(logits, target, weight, pos_weight, reduction)
    return _bce(b, False, True)[1]


def binary_cross_entropy_with_logits_and_grad(
    logits: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    pos_weight: ArrayLike | None = None,
    reduction: str = "mean",
) -> tuple[NDArray[np.floating], NDArray[np.floating]]:
    """(binary_cross_entropy_with_logits(...), its gradient) from one validation and one pass."""
    b = _prepare_binary(logits, target, weight, pos_weight, reduction)
    return _bce(b, True, True)
