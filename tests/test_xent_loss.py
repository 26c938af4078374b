"""Unit tests of xent.loss: cross_entropy(_grad), CrossEntropyLoss, one_hot, binary_cross_entropy_with_logits(_grad).

References: F.cross_entropy and F.binary_cross_entropy_with_logits in float64 with autograd for every
gradient, SymPy for the book's worked batch example, and hand-worked values. Every option of
F.cross_entropy is crossed with every other: target kind, reduction, weight, ignore_index,
label_smoothing, K-dimensional and unbatched inputs.
"""

from __future__ import annotations

import functools
import math
import tracemalloc

import mpmath as mp
import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F

import xent

# Any RuntimeWarning (overflow, 0/0, log 0) is a failure: stable code must not warn.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

TOL = dict(rtol=1e-12, atol=1e-14)
C = 5
SHAPES = {"NC": (6, C), "NCd1d2": (3, C, 2, 3), "C": (C,)}  # logits' shapes; class axis 1 (or 0 unbatched)
WEIGHT = np.array([0.5, 2.0, 1.0, 0.25, 3.0])


def t64(x):
    return torch.tensor(np.asarray(x), dtype=torch.float64)


def logits_for(shape, seed=0, scale=2.0):
    return np.random.default_rng(seed).normal(scale=scale, size=shape)


def index_target(shape, seed=1, ignore=None):
    """Class indices of the logits' shape without the class axis; every third entry = ignore."""
    rng = np.random.default_rng(seed)
    tshape = () if len(shape) == 1 else (shape[0],) + shape[2:]
    y = rng.integers(0, shape[0 if len(shape) == 1 else 1], size=tshape)
    if ignore is not None:
        y.reshape(-1)[::3] = ignore
    return np.asarray(y, dtype=np.int64)


def prob_target(shape, seed=2):
    """Random distributions along the class axis, the logits' shape."""
    rng = np.random.default_rng(seed)
    axis = 0 if len(shape) == 1 else 1
    y = rng.dirichlet(np.ones(shape[axis]), size=shape[:axis] + shape[axis + 1:])  # class axis last
    return np.moveaxis(y, -1, axis)


def torch_ce(logits, target, weight=None, **kwargs):
    """Loss value and ∂loss/∂logits (for reduction='none', of the sum) from torch autograd."""
    z = t64(logits).requires_grad_()
    y = torch.tensor(target) if np.issubdtype(np.asarray(target).dtype, np.integer) else t64(target)
    w = None if weight is None else t64(weight)
    loss = F.cross_entropy(z, y, weight=w, **kwargs)
    loss.sum().backward()
    return loss.detach().numpy(), z.grad.numpy()


def check_ce(logits, target, **kwargs):
    """xent's loss and gradient equal torch's to ~1e-12 in float64."""
    ref_loss, ref_grad = torch_ce(logits, target, **kwargs)
    loss = xent.cross_entropy(logits, target, **kwargs)
    grad = xent.cross_entropy_grad(logits, target, **kwargs)
    assert np.shape(loss) == ref_loss.shape and grad.shape == np.shape(logits)
    np.testing.assert_allclose(loss, ref_loss, **TOL)
    np.testing.assert_allclose(grad, ref_grad, **TOL)


# --------------------------------------------------------------------------- cross_entropy vs torch


@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weight", [None, WEIGHT], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("kind", ["index", "prob"])
@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_cross_entropy_matches_torch(shape, kind, reduction, weight, label_smoothing):
    z = logits_for(shape)
    y = index_target(shape) if kind == "index" else prob_target(shape)
    check_ce(z, y, weight=weight, reduction=reduction, label_smoothing=label_smoothing)


@pytest.mark.parametrize("weight", [None, WEIGHT], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("kind", ["index", "prob"])
@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_full_label_smoothing_matches_torch(shape, kind, weight):
    # label_smoothing = 1: the target is uniform whatever the label, so the loss no longer depends on it
    z = logits_for(shape, seed=5)
    y = index_target(shape) if kind == "index" else prob_target(shape)
    for reduction in ("mean", "none"):
        check_ce(z, y, weight=weight, reduction=reduction, label_smoothing=1.0)
    np.testing.assert_allclose(xent.cross_entropy(z, y, label_smoothing=1.0),
                               xent.cross_entropy(z, np.full(np.shape(z), 1 / C)), **TOL)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
@pytest.mark.parametrize("weight", [None, WEIGHT], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("ignore_index", [-100, -1, 2])
@pytest.mark.parametrize("shape", [SHAPES["NC"], SHAPES["NCd1d2"]], ids=["NC", "NCd1d2"])
def test_ignore_index_matches_torch(shape, ignore_index, reduction, weight, label_smoothing):
    z = logits_for(shape, seed=3)
    y = index_target(shape, seed=4, ignore=ignore_index)
    kwargs = dict(weight=weight, reduction=reduction, label_smoothing=label_smoothing)
    if ignore_index != -100:
        kwargs["ignore_index"] = ignore_index
    check_ce(z, y, **kwargs)
    # the ignored positions contribute nothing, not even to the gradient
    grad = np.moveaxis(xent.cross_entropy_grad(z, y, **kwargs), 1, -1)  # class axis last
    assert np.all(grad[y == ignore_index] == 0)
    if reduction == "none":
        assert np.all(xent.cross_entropy(z, y, **kwargs)[y == ignore_index] == 0)


@pytest.mark.parametrize("ignore_index", [0, 1, 2, 7])
def test_non_negative_ignore_index_is_rejected_for_probability_targets(ignore_index):
    z, y = logits_for((4, 3)), prob_target((4, 3))
    with pytest.raises(RuntimeError, match="ignore_index"):
        F.cross_entropy(t64(z), t64(y), ignore_index=ignore_index)
    for fn in (xent.cross_entropy, xent.cross_entropy_grad, xent.cross_entropy_and_grad):
        with pytest.raises(ValueError, match="ignore_index"):
            fn(z, y, ignore_index=ignore_index)


@pytest.mark.parametrize("ignore_index", [-100, -1, -5])
def test_negative_ignore_index_is_accepted_for_probability_targets_as_in_torch(ignore_index):
    """torch rejects only ignore_index ≥ 0 with probability targets; a negative one is accepted and unused."""
    z, y = logits_for((4, 3)), prob_target((4, 3))
    check_ce(z, y, ignore_index=ignore_index)
    np.testing.assert_array_equal(xent.cross_entropy(z, y, ignore_index=ignore_index), xent.cross_entropy(z, y))


def test_weighted_mean_divides_by_the_weights_of_the_counted_targets():
    z = logits_for((6, C), seed=5)
    y = np.array([0, 1, 1, 4, -100, 2])
    per_sample = xent.cross_entropy(z, y, weight=WEIGHT, reduction="none")
    kept = y != -100
    expected = per_sample.sum() / WEIGHT[y[kept]].sum()
    np.testing.assert_allclose(xent.cross_entropy(z, y, weight=WEIGHT), expected, **TOL)
    # ... but for probability targets torch's mean divides by N
    yp = prob_target((6, C))
    np.testing.assert_allclose(xent.cross_entropy(z, yp, weight=WEIGHT),
                               xent.cross_entropy(z, yp, weight=WEIGHT, reduction="sum") / 6, **TOL)


def test_zero_class_weight():
    z, w = logits_for((3, 4), seed=24), np.array([1.0, 0.0, 2.0, 1.0])
    check_ce(z, np.array([0, 1, 1]), weight=w)  # a class of weight 0 is simply not counted
    y = np.array([1, 1, 1])  # ... but if only such targets remain, the weighted mean is 0/0
    assert math.isnan(F.cross_entropy(t64(z), torch.tensor(y), weight=t64(w)).item())  # torch: a silent nan
    for fn in (xent.cross_entropy, xent.cross_entropy_grad):
        with pytest.raises(ValueError, match="weight"):
            fn(z, y, weight=w)
    check_ce(z, y, weight=w, reduction="sum")  # the sum is well defined: 0
    check_ce(z, y, weight=w, reduction="none")


@pytest.mark.parametrize("seed", range(4))
def test_random_inputs_match_torch(seed):
    rng = np.random.default_rng(seed)
    n, c = rng.integers(1, 20), rng.integers(2, 30)
    z = rng.normal(scale=5.0, size=(n, c))
    w = rng.uniform(0.1, 3.0, size=c)
    eps = float(rng.uniform(0, 1))
    check_ce(z, rng.integers(0, c, size=n), weight=w, label_smoothing=eps)
    check_ce(z, rng.dirichlet(np.ones(c), size=n), weight=w, label_smoothing=eps)


def test_index_and_one_hot_targets_agree():
    z = logits_for((7, C), seed=6)
    y = index_target((7, C), seed=7)
    Y = xent.one_hot(y, C)
    for kw in [{}, {"reduction": "sum"}, {"reduction": "none"}, {"label_smoothing": 0.1}]:
        np.testing.assert_allclose(xent.cross_entropy(z, y, **kw), xent.cross_entropy(z, Y, **kw), **TOL)
        np.testing.assert_allclose(xent.cross_entropy_grad(z, y, **kw), xent.cross_entropy_grad(z, Y, **kw), **TOL)


def test_unbatched_equals_a_batch_of_one():
    z = logits_for((C,), seed=8)
    assert np.ndim(xent.cross_entropy(z, np.int64(3))) == 0
    np.testing.assert_allclose(xent.cross_entropy(z, 3), xent.cross_entropy(z[None], np.array([3])), **TOL)
    np.testing.assert_allclose(xent.cross_entropy_grad(z, 3), xent.cross_entropy_grad(z[None], np.array([3]))[0], **TOL)
    p = prob_target((C,))
    np.testing.assert_allclose(xent.cross_entropy(z, p), xent.cross_entropy(z[None], p[None]), **TOL)


def test_gradient_of_none_is_gradient_of_sum():
    z, y = logits_for((4, C), seed=9), index_target((4, C), seed=10)
    np.testing.assert_array_equal(xent.cross_entropy_grad(z, y, reduction="none"),
                                  xent.cross_entropy_grad(z, y, reduction="sum"))


def test_gradient_by_central_differences():
    z, y = logits_for((3, 4), seed=11), np.array([0, 3, 1])
    h, fd = 1e-6, np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        dz = np.zeros_like(z)
        dz[idx] = h
        fd[idx] = (xent.cross_entropy(z + dz, y, label_smoothing=0.1) - xent.cross_entropy(z - dz, y, label_smoothing=0.1)) / (2 * h)
    np.testing.assert_allclose(xent.cross_entropy_grad(z, y, label_smoothing=0.1), fd, rtol=1e-6, atol=1e-9)


def test_gradient_is_softmax_minus_onehot_over_n():
    z, y = logits_for((5, C), seed=12), index_target((5, C), seed=13)
    np.testing.assert_allclose(xent.cross_entropy_grad(z, y), (xent.softmax(z) - xent.one_hot(y, C)) / 5, **TOL)
    assert np.allclose(xent.cross_entropy_grad(z, y).sum(axis=1), 0, atol=1e-16)


# --------------------------------------------------------------------------- the book's worked examples


def test_worked_batch_example_exact():
    A = sp.Matrix([[2, 1, sp.Rational(1, 10)], [sp.Rational(1, 10), 2, sp.Rational(19, 10)]])
    Y = sp.Matrix([[0, 1, 0], [1, 0, 0]])
    N, Cn = A.shape
    probs = sp.Matrix(N, Cn, lambda n, c: sp.exp(A[n, c]) / sum(sp.exp(A[n, k]) for k in range(Cn)))
    losses = [-sum(Y[n, c] * sp.log(probs[n, c]) for c in range(Cn)) for n in range(N)]
    mean = sum(losses) / N
    grad = (probs - Y) / N
    # the gradient of the symbolic mean loss is (σ(A) − Y)/N
    a_sym = sp.Matrix(N, Cn, lambda n, c: sp.Symbol(f"a{n}{c}"))
    p_sym = [[sp.exp(a_sym[n, c]) / sum(sp.exp(a_sym[n, k]) for k in range(Cn)) for c in range(Cn)] for n in range(N)]
    L_sym = -sum(Y[n, c] * sp.log(p_sym[n][c]) for n in range(N) for c in range(Cn)) / N
    subs = {a_sym[n, c]: A[n, c] for n in range(N) for c in range(Cn)}
    for n in range(N):
        for c in range(Cn):
            assert sp.simplify(sp.diff(L_sym, a_sym[n, c]).subs(subs) - grad[n, c]) == 0

    An, Yn, y_idx = np.array(A.evalf(), dtype=float), np.array(Y, dtype=float), np.array([1, 0])
    np.testing.assert_allclose(xent.softmax(An), np.array(probs.evalf(), dtype=float), rtol=1e-14)
    np.testing.assert_allclose(xent.softmax(An), [[0.659, 0.242, 0.099], [0.073, 0.487, 0.440]], atol=5e-4)
    for target in (Yn, y_idx):
        np.testing.assert_allclose(xent.cross_entropy(An, target, reduction="none"), [float(v) for v in losses], rtol=1e-14)
        np.testing.assert_allclose(xent.cross_entropy(An, target), float(mean), rtol=1e-14)
        np.testing.assert_allclose(xent.cross_entropy_grad(An, target), np.array(grad.evalf(), dtype=float),
                                   rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(xent.cross_entropy(An, y_idx, reduction="none"), [1.417, 2.620], atol=5e-4)
    assert round(float(xent.cross_entropy(An, y_idx)), 3) == 2.019
    np.testing.assert_allclose(xent.cross_entropy_grad(An, y_idx), [[0.330, -0.379, 0.049], [-0.464, 0.243, 0.220]],
                               atol=5e-4)
    check_ce(An, y_idx)
    check_ce(An, Yn)


def test_softmax_1_2_half_loss_for_class_0():
    z = [1.0, 2.0, 0.5]
    exact = -sp.log(sp.E / (sp.E + sp.exp(2) + sp.exp(sp.Rational(1, 2))))
    np.testing.assert_allclose(xent.cross_entropy(z, 0), float(exact), rtol=1e-14)
    assert round(float(xent.cross_entropy(z, 0)), 3) == 1.464  # not 1.38


def test_mean_of_three_losses_uses_one_base():
    # −ln 0.2, −ln 0.8, −ln 0.8: mean ≈ 0.685. Using −log10 0.8 ≈ 0.097 for the last two gives 0.601.
    logits = np.log([[0.2, 0.8], [0.2, 0.8], [0.2, 0.8]])
    y = np.array([0, 1, 1])
    mean = xent.cross_entropy(logits, y)
    exact = (-sp.log(sp.Rational(1, 5)) - 2 * sp.log(sp.Rational(4, 5))) / 3
    np.testing.assert_allclose(mean, float(exact), rtol=1e-14)
    assert round(float(mean), 3) == 0.685
    np.testing.assert_allclose(-xent.log_softmax(logits)[1, 1], 0.223, atol=5e-4)
    mixed = (-math.log(0.2) - 2 * math.log10(0.8)) / 3
    assert round(mixed, 3) == 0.601 and abs(mixed - mean) > 0.08


def test_clipping_would_cap_a_confident_mistake():
    z, y = np.array([0.0, -800.0]), 1
    assert xent.cross_entropy(z, y) == 800.0  # log-softmax: the true, huge loss
    eps = 1e-6
    clipped = -np.log(np.clip(xent.softmax(z)[1], eps, 1 - eps))
    np.testing.assert_allclose(clipped, -math.log(eps), rtol=1e-12)  # ≈ 13.8: the clip hides 786 nats
    assert round(float(clipped), 1) == 13.8


# --------------------------------------------------------------------------- extreme inputs

EXTREME = {
    "±1e4": (np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]]), np.array([1, 0])),
    "all -1e4": (np.full((2, 3), -1e4) + np.array([0.0, 1.0, 2.0]), np.array([2, 0])),
    "mixed": (np.array([[800.0, -800.0, 3.0, -3.0], [-1000.0, 1000.0, 0.5, 0.0]]), np.array([3, 1])),
    "[0, -800]": (np.array([[0.0, -800.0], [0.0, -800.0]]), np.array([1, 0])),
}


@pytest.mark.parametrize("name", EXTREME)
@pytest.mark.parametrize("kind", ["index", "prob"])
def test_extreme_logits_are_finite_and_match_torch(name, kind):
    z, y = EXTREME[name]
    y = y if kind == "index" else xent.one_hot(y, z.shape[1]) * 0.9 + 0.1 / z.shape[1]
    for kwargs in [{}, {"reduction": "none"}, {"label_smoothing": 0.1}, {"weight": np.linspace(1, 2, z.shape[1])}]:
        loss, grad = xent.cross_entropy(z, y, **kwargs), xent.cross_entropy_grad(z, y, **kwargs)
        assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad))
        ref_loss, ref_grad = torch_ce(z, y, **kwargs)
        np.testing.assert_allclose(loss, ref_loss, rtol=1e-12, atol=1e-10)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-12, atol=1e-14)


def test_extreme_exact_losses():
    z = np.array([[0.0, -800.0]])
    np.testing.assert_array_equal(xent.cross_entropy(z, np.array([1]), reduction="none"), [800.0])
    assert xent.cross_entropy(z, np.array([0])) == 0.0
    np.testing.assert_array_equal(xent.cross_entropy_grad(z, np.array([1])), [[1.0, -1.0]])
    assert xent.cross_entropy(np.array([1e4, -1e4]), 1) == 2e4


def test_huge_number_of_classes():
    rng = np.random.default_rng(14)
    z = rng.normal(scale=20.0, size=(3, 10_000))
    z[0, 5] = 1e4
    y = np.array([5, 9_999, 1234])
    check_ce(z, y)
    check_ce(z, y, label_smoothing=0.05, reduction="sum")
    loss, ref = xent.cross_entropy(z, y, reduction="none"), torch_ce(z, y, reduction="none")[0]
    assert np.all(np.isfinite(loss))
    np.testing.assert_allclose(loss, ref, **TOL)


# --------------------------------------------------------------------------- CrossEntropyLoss


def test_cross_entropy_loss_class_forward_twice_and_backward():
    A1, A2 = logits_for((4, C), seed=15), logits_for((4, C), seed=16)
    Y = xent.one_hot(index_target((4, C), seed=17), C)
    loss = xent.CrossEntropyLoss()
    first = loss.forward(A1, Y)
    second = loss.forward(A1, Y)  # a loss that overwrote its own softmax method fails here
    assert first == second
    np.testing.assert_allclose(first, xent.cross_entropy(A1, Y), **TOL)
    third = loss.forward(A2, Y)
    np.testing.assert_allclose(third, xent.cross_entropy(A2, Y), **TOL)
    grad = loss.backward()  # of the last forward
    np.testing.assert_allclose(grad, xent.cross_entropy_grad(A2, Y), **TOL)
    np.testing.assert_allclose(grad, torch_ce(A2, Y)[1], **TOL)
    np.testing.assert_array_equal(loss.backward(), grad)


def test_cross_entropy_loss_class_soft_targets_and_float32():
    A, Y = logits_for((6, C), seed=18), prob_target((6, C), seed=19)
    loss = xent.CrossEntropyLoss()
    ref_loss, ref_grad = torch_ce(A, Y)
    np.testing.assert_allclose(loss.forward(A, Y), ref_loss, **TOL)
    np.testing.assert_allclose(loss.backward(), ref_grad, **TOL)
    out = loss.forward(A.astype(np.float32), Y)
    assert out.dtype == np.float32 and loss.backward().dtype == np.float32
    np.testing.assert_allclose(out, ref_loss, rtol=1e-5)


def test_cross_entropy_loss_class_bad_input():
    loss = xent.CrossEntropyLoss()
    with pytest.raises(ValueError, match=r"^backward: call forward\(A, Y\) first$"):
        loss.backward()
    with pytest.raises(ValueError, match=r"^A: "):
        loss.forward(np.zeros(3), np.array([1.0, 0.0, 0.0]))
    with pytest.raises(ValueError, match=r"^A: "):
        loss.forward(np.array([[0.0, np.nan]]), np.array([[1.0, 0.0]]))
    with pytest.raises(ValueError, match=r"^Y: expected the shape of A \(2, 3\), got \(2, 2\)"):
        loss.forward(np.zeros((2, 3)), np.array([[1.0, 0.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match=r"^Y: .*sum to 1 along axis 1"):
        loss.forward(np.zeros((1, 4)), np.array([[0.0, 1.0, 0.0, 1.0]]))  # not one-hot: sums to 2
    with pytest.raises(ValueError, match=r"^Y: "):
        loss.forward(np.zeros((2, 2)), [[1.0, 0.0], [1.0]])  # ragged


# --------------------------------------------------------------------------- one_hot


def test_one_hot():
    Y = xent.one_hot(np.array([2, 0, 1]), 3)
    np.testing.assert_array_equal(Y, [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    assert Y.dtype == np.float64
    assert xent.one_hot(np.array([1]), 2, dtype=np.float32).dtype == np.float32
    assert xent.one_hot(np.int64(4), 6).shape == (6,)
    Y = xent.one_hot(np.array([[0, 4], [3, 3]]), 5)
    assert Y.shape == (2, 2, 5)
    np.testing.assert_array_equal(Y.sum(-1), 1)  # exactly one 1 per row
    np.testing.assert_array_equal(Y.argmax(-1), [[0, 4], [3, 3]])
    np.testing.assert_array_equal(xent.one_hot(np.array([1, 3]), 4), F.one_hot(torch.tensor([1, 3]), 4).numpy())


@pytest.mark.parametrize("target", [np.array([0, 3]), np.array([-1, 0]), np.array([10**9])], ids=["=C", "<0", "huge"])
def test_one_hot_out_of_range(target):
    with pytest.raises(ValueError, match="target"):
        xent.one_hot(target, 3)


def test_one_hot_needs_integers():
    with pytest.raises(ValueError, match="target"):
        xent.one_hot(np.array([0.0, 1.0]), 3)


# --------------------------------------------------------------------------- binary cross-entropy


def torch_bce(z, y, weight=None, pos_weight=None, reduction="mean"):
    zt = t64(z).requires_grad_()
    loss = F.binary_cross_entropy_with_logits(
        zt, t64(y), weight=None if weight is None else t64(weight),
        pos_weight=None if pos_weight is None else t64(pos_weight), reduction=reduction)
    loss.sum().backward()
    return loss.detach().numpy(), zt.grad.numpy()


def check_bce(z, y, **kwargs):
    ref_loss, ref_grad = torch_bce(z, y, **kwargs)
    loss = xent.binary_cross_entropy_with_logits(z, y, **kwargs)
    grad = xent.binary_cross_entropy_with_logits_grad(z, y, **kwargs)
    assert np.shape(loss) == ref_loss.shape and grad.shape == np.shape(z)
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad))
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-12, atol=1e-15)


BCE_SHAPE = (5, 3)
BCE_W = {"none": None, "per-class": np.array([0.5, 1.0, 2.0]), "full": np.linspace(0.1, 2.0, 15).reshape(BCE_SHAPE)}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("pos_weight", ["none", "per-class"])
@pytest.mark.parametrize("weight", ["none", "per-class", "full"])
@pytest.mark.parametrize("targets", ["hard", "soft"])
def test_bce_with_logits_matches_torch(targets, weight, pos_weight, reduction):
    rng = np.random.default_rng(20)
    z = rng.normal(scale=4.0, size=BCE_SHAPE)
    y = rng.integers(0, 2, size=BCE_SHAPE).astype(float) if targets == "hard" else rng.uniform(size=BCE_SHAPE)
    check_bce(z, y, weight=BCE_W[weight], pos_weight=BCE_W[pos_weight], reduction=reduction)


@pytest.mark.parametrize("shape", [(), (7,), (2, 3, 4)])
def test_bce_shapes(shape):
    rng = np.random.default_rng(21)
    check_bce(rng.normal(size=shape), rng.uniform(size=shape))
    check_bce(rng.normal(size=shape), rng.uniform(size=shape), reduction="none")
    if shape:  # a pos_weight with one entry per element, broadcast from the last axis by torch
        check_bce(rng.normal(size=shape), rng.uniform(size=shape), pos_weight=rng.uniform(0.5, 3, size=shape))


def test_bce_gradient_is_sigmoid_minus_y():
    z, y = np.array([-2.0, 0.0, 3.0]), np.array([1.0, 0.5, 0.0])
    np.testing.assert_allclose(xent.binary_cross_entropy_with_logits_grad(z, y, reduction="sum"), xent.sigmoid(z) - y, **TOL)
    zs, ys = sp.symbols("z y", real=True)
    ell = -(ys * sp.log(1 / (1 + sp.exp(-zs))) + (1 - ys) * sp.log(1 - 1 / (1 + sp.exp(-zs))))
    assert sp.simplify(sp.diff(ell, zs) - (1 / (1 + sp.exp(-zs)) - ys)) == 0


def test_bce_equals_two_class_cross_entropy():
    z = logits_for((6,), seed=22)
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0])
    two = np.stack([np.zeros_like(z), z], axis=1)  # logits [0, z]: σ(z) for class 1
    np.testing.assert_allclose(xent.binary_cross_entropy_with_logits(z, y),
                               xent.cross_entropy(two, y.astype(np.int64)), **TOL)


@pytest.mark.parametrize("z", [1e4, -1e4, 800.0, -800.0, 40.0, -40.0])
@pytest.mark.parametrize("y", [0.0, 1.0, 0.3])
def test_bce_extreme_logits(z, y):
    check_bce(np.array([z]), np.array([y]), pos_weight=np.array([2.0]))
    check_bce(np.array([z]), np.array([y]))


def test_bce_extreme_exact():
    z = np.array([1e4, -1e4, 1e4, -1e4])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    np.testing.assert_array_equal(xent.binary_cross_entropy_with_logits(z, y, reduction="none"), [0.0, 0.0, 1e4, 1e4])
    np.testing.assert_array_equal(xent.binary_cross_entropy_with_logits_grad(z, y, reduction="none"), [0.0, 0.0, 1.0, -1.0])


# --------------------------------------------------------------------------- dtypes

LOSSES = {
    "ce index": lambda z: xent.cross_entropy(z, np.array([0, 2, 1])),
    "ce index none": lambda z: xent.cross_entropy(z, np.array([0, 2, 1]), reduction="none"),
    "ce prob": lambda z: xent.cross_entropy(z, np.full(z.shape, 1 / 3, dtype=z.dtype)),
    "ce prob float64 target": lambda z: xent.cross_entropy(z, np.full(z.shape, 1 / 3)),
    "ce weighted smoothed": lambda z: xent.cross_entropy(z, np.array([0, 2, 1]), weight=[1.0, 2.0, 0.5],
                                                         label_smoothing=0.1, reduction="sum"),
    "ce_grad index": lambda z: xent.cross_entropy_grad(z, np.array([0, 2, 1])),
    "ce_grad prob": lambda z: xent.cross_entropy_grad(z, np.full(z.shape, 1 / 3, dtype=z.dtype)),
    "ce_grad weighted": lambda z: xent.cross_entropy_grad(z, np.array([0, 2, -100]), weight=[1.0, 2.0, 0.5]),
    "CrossEntropyLoss": lambda z: xent.CrossEntropyLoss().forward(z, np.eye(3)),
    "bce": lambda z: xent.binary_cross_entropy_with_logits(z, np.eye(3, dtype=z.dtype)),
    "bce weighted none": lambda z: xent.binary_cross_entropy_with_logits(
        z, np.eye(3), weight=[1.0, 2.0, 3.0], pos_weight=[0.5, 1.0, 4.0], reduction="none"),
    "bce_grad": lambda z: xent.binary_cross_entropy_with_logits_grad(z, np.eye(3, dtype=z.dtype)),
    "bce_grad weighted sum": lambda z: xent.binary_cross_entropy_with_logits_grad(
        z, np.eye(3), weight=[1.0, 2.0, 3.0], pos_weight=[0.5, 1.0, 4.0], reduction="sum"),
}


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("z", [logits_for((3, 3), seed=23), np.array([[1e4, -1e4, 0.0], [0.0, -800.0, 5.0], [-1e4, 0.0, 1e4]])],
                         ids=["random", "extreme"])
def test_float32_in_float32_out_and_close_to_float64(name, z):
    out32, out64 = LOSSES[name](z.astype(np.float32)), LOSSES[name](z)
    assert out32.dtype == np.float32 and out64.dtype == np.float64
    assert np.all(np.isfinite(out32))
    np.testing.assert_allclose(out32, out64, rtol=1e-5, atol=1e-5)


def test_integer_logits_become_float64():
    assert xent.cross_entropy(np.array([[1, 2, 0]]), np.array([1])).dtype == np.float64
    assert xent.binary_cross_entropy_with_logits(np.array([1, -2]), np.array([1.0, 0.0])).dtype == np.float64


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("fn", [xent.cross_entropy, xent.cross_entropy_grad], ids=["loss", "grad"])
@pytest.mark.parametrize(
    "logits, target, kwargs, match",
    [
        (np.zeros((2, 3)), np.array([0, 3]), {}, "target"),  # index = C
        (np.zeros((1, 2)), np.array([2]), {}, "target"),  # 2 classes, target 2
        (np.zeros((2, 3)), np.array([0, 10**12]), {}, "target"),  # no IndexError for huge indices
        (np.zeros((2, 3)), np.array([-1, 0]), {}, "target"),  # negative, not ignore_index
        (np.zeros((2, 3)), np.array([-100, 0]), {"ignore_index": -1}, "target"),  # -100 is not ignored now
        (np.zeros(3), 3, {}, "target"),  # unbatched
        (np.zeros((2, 3, 4)), np.array([[0, 1, 2, 3], [0, 0, 0, 0]]), {}, "target"),  # K-dim, 3 ≥ C
        (np.zeros((2, 3)), np.array([0, 1, 2]), {}, "target"),  # shape: one index too many
        (np.zeros((2, 3)), np.array([[0], [1]]), {}, "target"),  # shape: extra axis
        (np.zeros((2, 3, 4)), np.zeros((2, 3), dtype=np.int64), {}, "target"),  # K-dim shape
        (np.zeros((2, 3)), np.full((2, 4), 0.25), {}, "target"),  # probability shape
        (np.zeros((2, 3)), np.full((3, 2), 0.5), {}, "target"),  # transposed probabilities
        (np.zeros((2, 3)), np.array([[1.2, -0.2, 0.0], [0.0, 1.0, 0.0]]), {}, "target"),  # negative prob
        (np.zeros((2, 3)), np.array([[0.5, 0.2, 0.2], [0.0, 1.0, 0.0]]), {}, "target"),  # row sums to 0.9
        (np.zeros((1, 4)), np.array([[0.0, 1.0, 0.0, 1.0]]), {}, "target"),  # not one-hot: sums to 2
        (np.zeros((2, 3)), np.array([[np.nan, 1.0, 0.0], [0.0, 1.0, 0.0]]), {}, "target"),  # nan prob
        (np.zeros((2, 3)), np.array([True, False]), {}, "target"),  # bool target
        (np.zeros((2, 3)), np.array(["a", "b"]), {}, "target"),  # string target
        (np.array([[0.0, np.nan, 1.0]]), np.array([0]), {}, "logits"),
        (np.array([[0.0, np.inf, 1.0]]), np.array([0]), {}, "logits"),
        (np.array([[0.0, -np.inf, 1.0]]), np.array([0]), {}, "logits"),
        (np.zeros((2, 0)), np.array([0, 0]), {}, "logits"),  # no classes
        (np.float64(1.0), np.int64(0), {}, "logits"),  # a scalar has no class axis
        (np.zeros((2, 3)), np.array([0, 1]), {"reduction": "avg"}, "reduction"),
        (np.zeros((2, 3)), np.array([0, 1]), {"reduction": None}, "reduction"),
        (np.zeros((2, 3)), np.array([0, 1]), {"label_smoothing": -0.1}, "label_smoothing"),
        (np.zeros((2, 3)), np.array([0, 1]), {"label_smoothing": 1.5}, "label_smoothing"),
        (np.zeros((2, 3)), np.array([0, 1]), {"label_smoothing": float("nan")}, "label_smoothing"),
        (np.zeros((2, 3)), np.array([0, 1]), {"weight": [1.0, 2.0]}, "weight"),  # wrong length
        (np.zeros((2, 3)), np.array([0, 1]), {"weight": [[1.0, 2.0, 3.0]]}, "weight"),  # wrong shape
        (np.zeros((2, 3)), np.array([0, 1]), {"weight": [1.0, np.nan, 3.0]}, "weight"),
        (np.zeros((2, 3)), np.full((2, 3), 1 / 3), {"weight": [1.0, 2.0]}, "weight"),  # with prob targets
        (np.zeros((2, 3)), np.array([-100, -100]), {}, "target"),  # all ignored: nothing to average
        (np.zeros((2, 3)), np.array([5, 5]), {"ignore_index": 5}, "target"),  # custom index, all ignored
        (np.zeros(3), -100, {}, "target"),  # unbatched, ignored
    ],
)
def test_cross_entropy_bad_input_raises(fn, logits, target, kwargs, match):
    with pytest.raises(ValueError, match=rf"^{match}: "):  # the message starts with the argument's name
        fn(logits, target, **kwargs)


@pytest.mark.parametrize("fn", [xent.binary_cross_entropy_with_logits, xent.binary_cross_entropy_with_logits_grad],
                         ids=["loss", "grad"])
@pytest.mark.parametrize(
    "logits, target, kwargs, match",
    [
        (np.zeros(3), np.array([1, 0, 1]), {}, "target"),  # integer targets: must be float
        (np.zeros(3), np.array([True, False, True]), {}, "target"),
        (np.zeros(3), np.array([1.0, 0.0]), {}, "target"),  # shape
        (np.zeros((2, 2)), np.array([1.0, 0.0]), {}, "target"),  # no silent broadcasting
        (np.zeros(2), np.array([1.5, 0.0]), {}, "target"),
        (np.zeros(2), np.array([-0.5, 0.0]), {}, "target"),
        (np.zeros(2), np.array([np.nan, 0.0]), {}, "target"),
        (np.array([np.nan, 0.0]), np.array([1.0, 0.0]), {}, "logits"),
        (np.array([np.inf, 0.0]), np.array([1.0, 0.0]), {}, "logits"),
        (np.zeros((2, 3)), np.zeros((2, 3)), {"weight": [1.0, 2.0]}, "weight"),
        (np.zeros((2, 3)), np.zeros((2, 3)), {"weight": [1.0, np.inf, 2.0]}, "weight"),
        (np.zeros((2, 3)), np.zeros((2, 3)), {"pos_weight": [1.0, 2.0]}, "pos_weight"),
        (np.zeros((2, 3)), np.zeros((2, 3)), {"pos_weight": [np.nan, 1.0, 2.0]}, "pos_weight"),
        (np.zeros(2), np.zeros(2), {"reduction": "mean "}, "reduction"),
    ],
)
def test_bce_bad_input_raises(fn, logits, target, kwargs, match):
    with pytest.raises(ValueError, match=rf"^{match}: "):  # the message starts with the argument's name
        fn(logits, target, **kwargs)


def test_torch_agrees_that_these_inputs_are_errors():
    # the pitfalls of chapter 10, as torch reports them: xent raises a ValueError instead
    with pytest.raises(IndexError, match="out of bounds"):
        F.cross_entropy(torch.zeros(1, 2, dtype=torch.float64), torch.tensor([2]))
    with pytest.raises(RuntimeError):
        F.binary_cross_entropy_with_logits(torch.zeros(3, dtype=torch.float64), torch.tensor([1, 0, 1]))
    with pytest.raises(ValueError, match="out of range"):
        xent.cross_entropy(np.zeros((1, 2)), np.array([2]))


@pytest.mark.parametrize("reduction", ["sum", "none"])
def test_all_ignored_matches_torch_for_sum_and_none(reduction):
    """Only the mean of zero counted targets is 0/0; sum and none are zeros, as in torch."""
    logits = np.random.default_rng(3).normal(size=(3, 4))
    target = np.array([-100, -100, -100])
    expected = F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(target), reduction=reduction)
    got = xent.cross_entropy(logits, target, reduction=reduction)
    np.testing.assert_array_equal(got, expected.numpy())
    assert not np.any(np.signbit(got))  # +0.0, never -0.0
    np.testing.assert_array_equal(xent.cross_entropy_grad(logits, target, reduction=reduction), 0.0)


# --------------------------------------------------------------------------- the one-pass entry points


@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weight", [None, WEIGHT], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("kind", ["index", "prob"])
@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_cross_entropy_and_grad_is_the_loss_and_the_gradient(shape, kind, reduction, weight, label_smoothing):
    z = logits_for(shape, seed=31)
    y = index_target(shape, seed=32, ignore=-100 if kind == "index" and len(shape) > 1 else None) \
        if kind == "index" else prob_target(shape, seed=33)
    kwargs = dict(weight=weight, reduction=reduction, label_smoothing=label_smoothing)
    loss, grad = xent.cross_entropy_and_grad(z, y, **kwargs)
    np.testing.assert_array_equal(loss, xent.cross_entropy(z, y, **kwargs))
    np.testing.assert_array_equal(grad, xent.cross_entropy_grad(z, y, **kwargs))
    ref_loss, ref_grad = torch_ce(z, y, **kwargs)
    np.testing.assert_allclose(loss, ref_loss, **TOL)
    np.testing.assert_allclose(grad, ref_grad, **TOL)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("options", ["plain", "weighted", "pos_weight"])
def test_bce_and_grad_is_the_loss_and_the_gradient(reduction, options):
    rng = np.random.default_rng(34)
    z, y = rng.normal(scale=4.0, size=(5, 3)), rng.random((5, 3))
    kwargs = {"plain": {}, "weighted": {"weight": rng.random(3)}, "pos_weight": {"pos_weight": rng.random(3) * 3}}[options]
    loss, grad = xent.binary_cross_entropy_with_logits_and_grad(z, y, reduction=reduction, **kwargs)
    np.testing.assert_array_equal(loss, xent.binary_cross_entropy_with_logits(z, y, reduction=reduction, **kwargs))
    np.testing.assert_array_equal(grad, xent.binary_cross_entropy_with_logits_grad(z, y, reduction=reduction, **kwargs))
    zt = t64(z).requires_grad_()
    tk = {k: t64(v) for k, v in kwargs.items()}
    ref = F.binary_cross_entropy_with_logits(zt, t64(y), reduction=reduction, **tk)
    ref.sum().backward()
    np.testing.assert_allclose(loss, ref.detach().numpy(), **TOL)
    np.testing.assert_allclose(grad, zt.grad.numpy(), **TOL)


def test_bce_blocks_join_up():
    """Inputs longer than one block (2**15 elements) give the same numbers as block-sized pieces."""
    rng = np.random.default_rng(35)
    z, y = rng.normal(scale=5.0, size=70_001), (rng.random(70_001) < 0.5).astype(float)
    loss, grad = xent.binary_cross_entropy_with_logits_and_grad(z, y, reduction="none")
    np.testing.assert_array_equal(loss[40_000:], xent.binary_cross_entropy_with_logits(z[40_000:], y[40_000:], reduction="none"))
    np.testing.assert_array_equal(grad[:123], xent.binary_cross_entropy_with_logits_grad(z[:123], y[:123], reduction="none"))
    mean = xent.binary_cross_entropy_with_logits(z, y)
    assert mean == pytest.approx(math.fsum(loss) / z.size, rel=1e-15)


def test_cross_entropy_blocks_join_up():
    """More rows than one block holds: every row equals the row computed alone."""
    rng = np.random.default_rng(36)
    z, t = rng.normal(scale=3.0, size=(300, 700)), rng.integers(0, 700, size=300)
    loss, grad = xent.cross_entropy_and_grad(z, t, reduction="none")
    for n in (0, 93, 94, 299):
        assert loss[n] == xent.cross_entropy(z[n], t[n])
        np.testing.assert_array_equal(grad[n], xent.cross_entropy_grad(z[n], t[n]))


# --------------------------------------------------------------------------- memory: no one-hot, no N×C temporaries


def peak_bytes(fn, *args, **kwargs):
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn(*args, **kwargs)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_makes_no_n_by_c_temporary_beyond_the_gradient(dtype):
    rng = np.random.default_rng(37)
    z, t = rng.normal(size=(2048, 500)).astype(dtype), rng.integers(0, 500, size=2048)
    nc, mib = z.nbytes, 2**20  # N×C is 4 or 8 MiB here; one block of rows is 2**16 entries (≤ 0.5 MiB)
    assert peak_bytes(xent.cross_entropy_and_grad, z, t) <= nc + mib  # the gradient, plus O(N) and one block
    assert peak_bytes(xent.cross_entropy_grad, z, t) <= nc + mib
    assert peak_bytes(xent.cross_entropy, z, t) <= mib  # the loss alone: one block of scratch
    assert peak_bytes(xent.cross_entropy, z, t, reduction="none") <= mib


def test_bce_makes_no_temporary_beyond_the_gradient():
    rng = np.random.default_rng(38)
    z, y = rng.normal(size=(1024, 1000)).astype(np.float32), (rng.random((1024, 1000)) < 0.5).astype(np.float32)
    mib = 2**20  # z is 4 MiB; one block's temporaries are a few times 2**15 entries
    assert peak_bytes(xent.binary_cross_entropy_with_logits_and_grad, z, y) <= z.nbytes + mib
    assert peak_bytes(xent.binary_cross_entropy_with_logits, z, y) <= mib


def test_validation_happens_once(monkeypatch):
    """The public function checks its logits once; the kernels inside do not check again."""
    calls = []
    real = xent._checks.finite
    monkeypatch.setattr(xent._checks, "finite", lambda x, name: calls.append(name) or real(x, name))
    z, t = logits_for((4, C)), np.array([0, 1, 2, 3])
    xent.cross_entropy_and_grad(z, t, weight=WEIGHT)
    assert calls == ["logits", "weight"]
    calls.clear()
    xent.binary_cross_entropy_with_logits_and_grad(z, np.full((4, C), 0.5))
    assert calls == ["logits", "target"]


# --------------------------------------------------------------------------- float16 and empty batches


@pytest.mark.parametrize("name", ["ce", "ce_grad", "bce", "bce_grad"])
def test_float16_is_computed_in_float32_and_rounded_once(name):
    """float16 in, float16 out, equal to the float32 computation rounded once to float16.

    Two float32 computations of one value may differ in their last bit, and where the float32 value
    sits on a float16 rounding tie that bit decides the float16 result: there either neighbour is
    a correct rounding of a float32 result (see the next test for such a tie).
    """
    rng = np.random.default_rng(39)
    z = rng.normal(scale=3.0, size=(64, C)).astype(np.float16)
    t, yb = rng.integers(0, C, size=64), (rng.random((64, C)) < 0.5).astype(np.float16)
    fn = {"ce": lambda z: xent.cross_entropy(z, t, reduction="none"),
          "ce_grad": lambda z: xent.cross_entropy_grad(z, t),
          "bce": lambda z: xent.binary_cross_entropy_with_logits(z, yb.astype(z.dtype), reduction="none"),
          "bce_grad": lambda z: xent.binary_cross_entropy_with_logits_grad(z, yb.astype(z.dtype))}[name]
    out = fn(z)
    assert out.dtype == np.float16
    ref32 = fn(z.astype(np.float32))
    rounded = ref32.astype(np.float16)
    near_tie = np.abs(ref32.astype(np.float64) - rounded.astype(np.float64)) >= (
        0.5 * np.spacing(np.abs(rounded)).astype(np.float64) - np.spacing(np.abs(ref32)).astype(np.float64))
    np.testing.assert_array_equal(out[~near_tie], rounded[~near_tie])
    other = np.nextafter(rounded, np.where(ref32 > rounded, np.inf, -np.inf).astype(np.float16))
    assert np.all((out == rounded) | (out == other))  # at a tie: one of the two neighbours


def test_float16_at_a_rounding_tie_is_the_correctly_rounded_value():
    """ln(1 + e^-u) for z = (6.39e-05, 0): the float32 result is exactly a float16 tie; the exact value
    (50 digits) lies just below it, and xent returns the correctly rounded 0.693."""
    z, t = np.array([[6.39e-05, 0.0]], dtype=np.float16), np.array([0])
    mp.mp.dps = 50
    exact = mp.log(mp.e ** mp.mpf(float(z[0, 0])) + 1) - mp.mpf(float(z[0, 0]))
    f32 = np.float32(xent.cross_entropy(z.astype(np.float32), t, reduction="none")[0])
    assert float(f32) == float(np.float16(f32)) / 2 + float(np.nextafter(np.float16(f32), np.float16(0))) / 2
    assert xent.cross_entropy(z, t, reduction="none")[0] == np.float16(float(exact))


def test_empty_batches():
    """An empty batch has a sum (0) but no mean: 0/0 is refused with a ValueError, as for all-ignored targets."""
    z0 = np.zeros((0, 3))
    assert xent.cross_entropy(z0, np.zeros(0, dtype=np.int64), reduction="sum") == 0.0
    assert xent.cross_entropy(z0, np.zeros((0, 3)), reduction="none").shape == (0,)
    assert xent.cross_entropy_grad(z0, np.zeros(0, dtype=np.int64), reduction="sum").shape == (0, 3)
    assert xent.binary_cross_entropy_with_logits(np.zeros(0), np.zeros(0), reduction="sum") == 0.0
    with pytest.raises(ValueError, match="target"):
        xent.cross_entropy(z0, np.zeros(0, dtype=np.int64))
    with pytest.raises(ValueError, match="logits"):
        xent.cross_entropy(z0, np.zeros((0, 3)))
    with pytest.raises(ValueError, match="logits"):
        xent.binary_cross_entropy_with_logits_grad(np.zeros(0), np.zeros(0))
    assert torch.isnan(F.cross_entropy(torch.zeros(0, 3), torch.zeros(0, 3)))  # what torch returns instead


# --------------------------------------------------------------------------- accuracy: a 50-digit reference
#
# As in test_xent_softmax.py: the error in ulps of the result's dtype against mpmath at 50 digits must be
# at most 4 + 2κ, κ the relative condition number (chapter 12 derives each):
#   loss −log a_t:      κ = (|z_t|(1 − a_t) + Σ_{j≠t} |z_j| a_j) / |log a_t|
#   gradient a_c, c≠t:  κ = |z_c|(1 − a_c) + Σ_{j≠c} |z_j| a_j
#   gradient a_t − 1:   κ = |z_t| a_t + Σ_{j≠t} |z_j| a_j · a_t / (1 − a_t)
#   BCE loss ℓ:         κ = |z| (|σ(z) − y| + 1) / ℓ
#   BCE gradient:       κ = |z| σ(∓z) for y = 0 / y = 1

mp.mp.dps = 50


def ulp_error(x, ref, dtype):
    """|x − ref| in ulps of dtype at ref (the spacing of the float nearest ref; subnormal spacing near 0)."""
    x = np.asarray(x, dtype=np.float64).ravel()
    out = np.array([float(abs(mp.mpf(float(xi)) - ri) / float(np.spacing(np.abs(dtype(float(ri))))))
                    for xi, ri in zip(x, np.ravel(ref))])
    return out.reshape(np.shape(ref))


def assert_ulps(ours, ref, kappa, dtype, what):
    err = ulp_error(ours, ref, dtype)
    bound = 4 + 2 * np.asarray(kappa, dtype=float)
    worst = np.unravel_index(np.argmax(err - bound), err.shape)
    assert np.all(err <= bound), f"{what}: {err[worst]:.1f} ulps where the bound is {bound[worst]:.1f}"


def ce_families(dtype):
    """(logits (M, C), targets (M,)): random of scale 1e-3 … 1e4, near-ties, a dominant correct logit (the
    confidently correct samples), a dominant wrong logit, many classes."""
    rng = np.random.default_rng(43)
    out = {}
    for s in (1e-3, 1.0, 10.0, 100.0, 1e4):
        out[f"scale {s:g}"] = (rng.normal(scale=s, size=(10, 7)), rng.integers(0, 7, size=10))
    out["near ties"] = (3.0 + 1e-4 * rng.normal(size=(10, 6)), rng.integers(0, 6, size=10))
    for name, shift in (("confident correct", 0), ("confident wrong", 1)):
        z, t = rng.normal(size=(16, 9)), rng.integers(0, 9, size=16)
        z[np.arange(16), (t + shift) % 9] += np.repeat([8.0, 14.0, 30.0, 60.0], 4)
        out[name] = (z, t)
    out["many classes"] = (rng.normal(scale=3.0, size=(3, 1000)), rng.integers(0, 1000, size=3))
    return {k: (z.astype(dtype), t) for k, (z, t) in out.items()}


@functools.lru_cache(maxsize=None)
def ce_reference(dtype_name, family):
    z, t = ce_families(np.dtype(dtype_name).type)[family]
    M, C = z.shape
    loss, grad, k_loss, k_grad = [], [], [], []
    for n in range(M):
        row = [mp.mpf(float(v)) for v in z[n]]
        k = max(range(C), key=lambda i: row[i])
        tail = mp.log1p(mp.fsum(mp.exp(v - row[k]) for i, v in enumerate(row) if i != k))
        logsm = [(v - row[k]) - tail for v in row]
        a = [mp.exp(v) for v in logsm]
        tt = t[n]
        # Σ_{j≠i} |z_j| a_j and 1 − a_i, summed without cancellation (a_k may be 1 − 1e-64)
        za = mp.fsum(abs(v) * p for v, p in zip(row, a))
        za_not = lambda i: mp.fsum(abs(v) * p for j, (v, p) in enumerate(zip(row, a)) if j != i) if i == k \
            else za - abs(row[i]) * a[i]
        one_minus = lambda i: mp.fsum(p for j, p in enumerate(a) if j != i) if i == k else 1 - a[i]
        loss.append(-logsm[tt])
        k_loss.append((abs(row[tt]) * one_minus(tt) + za_not(tt)) / abs(logsm[tt]))
        grad.append([p - 1 if i == tt and i != k else (-one_minus(i) if i == tt else p) for i, p in enumerate(a)])
        k_grad.append([abs(row[i]) * one_minus(i) + za_not(i) if i != tt else
                       abs(row[tt]) * a[tt] + za_not(tt) * a[tt] / one_minus(tt) for i in range(C)])
    f = lambda x: np.array(x, dtype=float)
    return dict(z=z, t=t, loss=np.array(loss, dtype=object), grad=np.array(grad, dtype=object),
                k_loss=f(k_loss), k_grad=f(k_grad))


DTYPES = [np.float64, np.float32]
CE_FAMILIES = list(ce_families(np.float64))


@pytest.mark.parametrize("family", CE_FAMILIES)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_cross_entropy_within_a_few_ulps_of_50_digits(dtype, family):
    ref = ce_reference(np.dtype(dtype).name, family)
    z, t = ref["z"], ref["t"]
    losses, grad = xent.cross_entropy_and_grad(z, t, reduction="none")
    assert losses.dtype == grad.dtype == dtype
    assert_ulps(losses, ref["loss"], ref["k_loss"], dtype, "loss per sample")
    assert_ulps(grad, ref["grad"], ref["k_grad"], dtype, "gradient of the sum")
    # the mean: κ of a sum of positive terms is at most the largest κ of its terms
    mean = mp.fsum(ref["loss"]) / len(t)
    kappa = float(mp.fsum(l * k for l, k in zip(ref["loss"], ref["k_loss"])) / mp.fsum(ref["loss"]))
    assert_ulps(xent.cross_entropy(z, t), np.array(mean, dtype=object), kappa, dtype, "mean loss")
    assert_ulps(xent.cross_entropy_grad(z, t), ref["grad"] / len(t), ref["k_grad"], dtype, "gradient of the mean")
    # probability targets equal to the one-hot rows give the same loss, just as accurately
    onehot = xent.one_hot(t, z.shape[1], dtype=dtype)
    assert_ulps(xent.cross_entropy(z, onehot, reduction="none"), ref["loss"], ref["k_loss"], dtype, "one-hot loss")


def test_confidently_correct_float32_loss_keeps_its_digits():
    """A float32 loss of about 3.4e-6: computed as 1 − (a rounded 1 − 3.4e-6) it is ~2 % off; xent is within an ulp."""
    z = np.array([[12.0, -0.5, 0.3, -1.0, 0.0]], dtype=np.float32)
    exact = mp.log1p(mp.fsum(mp.exp(mp.mpf(float(v)) - 12) for v in z[0, 1:]))
    ours = xent.cross_entropy(z, np.array([0]))
    assert ulp_error(ours, np.array(exact, dtype=object), np.float32) <= 1
    theirs = F.cross_entropy(torch.from_numpy(z), torch.tensor([0])).item()
    assert abs(theirs - float(exact)) / float(exact) > 1e-3  # torch loses most of the digits here


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_bce_within_a_few_ulps_of_50_digits(dtype):
    rng = np.random.default_rng(44)
    z = np.concatenate([rng.normal(scale=s, size=30) for s in (1e-3, 1, 10, 100, 1e4)]
                       + [np.array([0.0, 17.0, -17.0, 40.0, -40.0, 700.0, -700.0])]).astype(dtype)
    for y in (np.zeros_like(z), np.ones_like(z), rng.random(z.size).astype(dtype)):
        zm, ym = [mp.mpf(float(v)) for v in z], [mp.mpf(float(v)) for v in y]
        softplus = lambda x: mp.log1p(mp.exp(x))
        sig = [1 / (1 + mp.exp(-v)) for v in zm]
        loss = [yi * softplus(-zi) + (1 - yi) * softplus(zi) for zi, yi in zip(zm, ym)]
        k_loss = [float(abs(zi) * (abs(si - yi) + 1) / li) for zi, yi, si, li in zip(zm, ym, sig, loss)]
        ours, grad = xent.binary_cross_entropy_with_logits_and_grad(z, y, reduction="none")
        assert ours.dtype == dtype
        assert_ulps(ours, np.array(loss, dtype=object), k_loss, dtype, "BCE loss")
        if np.all((y == 0) | (y == 1)):
            g = [(1 - yi) * si - yi * (1 - si) if abs(zi) < 50 else (1 - yi) * si - yi / (1 + mp.exp(zi))
                 for zi, yi, si in zip(zm, ym, sig)]  # σ(z) − 1 = −σ(−z): no cancellation even in 50 digits
            k_g = [float(abs(zi) * (1 - si if yi == 0 else si)) for zi, yi, si in zip(zm, ym, sig)]
            assert_ulps(grad, np.array(g, dtype=object), k_g, dtype, "BCE gradient")


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_bce_with_pos_weight_and_weight_within_a_few_ulps(dtype):
    rng = np.random.default_rng(45)
    z = rng.normal(scale=20.0, size=(40, 3)).astype(dtype)
    y = (rng.random((40, 3)) < 0.5).astype(dtype)
    pw, w = np.array([0.5, 2.0, 7.0], dtype=dtype), np.array([1.5, 0.25, 1.0], dtype=dtype)
    ours = xent.binary_cross_entropy_with_logits(z, y, weight=w, pos_weight=pw, reduction="none")
    ref, kap = np.empty(z.shape, dtype=object), np.empty(z.shape)
    for idx in np.ndindex(z.shape):
        zi, yi = mp.mpf(float(z[idx])), mp.mpf(float(y[idx]))
        wi, pi = mp.mpf(float(w[idx[1]])), mp.mpf(float(pw[idx[1]]))
        ref[idx] = wi * (pi * yi * mp.log1p(mp.exp(-zi)) + (1 - yi) * mp.log1p(mp.exp(zi)))
        kap[idx] = float(abs(zi) * (1 + 1) * wi * (pi + 1) / ref[idx]) + 2  # two more roundings: ×p, ×w
    assert_ulps(ours, ref, kap, dtype, "weighted BCE loss")


# --------------------------------------------------------------------------- small exact cases (fast; mutation tests run these)


def test_one_hot_with_one_class_and_float32():
    np.testing.assert_array_equal(xent.one_hot(np.zeros(3, dtype=np.int64), 1), np.ones((3, 1)))
    y = xent.one_hot(np.array([[2, 0]]), 3, dtype=np.float32)
    assert y.dtype == np.float32 and y.shape == (1, 2, 3)
    np.testing.assert_array_equal(y, [[[0, 0, 1], [1, 0, 0]]])


@pytest.mark.parametrize("shape", [(0, 3), (2, 0)])
def test_cross_entropy_loss_class_needs_a_sample_and_a_class(shape):
    with pytest.raises(ValueError, match="A"):
        xent.CrossEntropyLoss().forward(np.zeros(shape), np.zeros(shape))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_true_class_gradient_of_a_confident_sample_is_accurate(dtype):
    """−(1 − a_t) = −r/(1 + r), not a_t − 1: within 2 ulps where a_t − 1 would keep only a few digits."""
    z = np.array([[12.0, 0.0, 0.0, 0.0, 0.0], [0.0, 30.0, 1.0, -2.0, 0.5]], dtype=dtype)
    t = np.array([0, 1])
    grad = xent.cross_entropy_grad(z, t, reduction="sum")
    for n in range(2):
        zm = [mp.mpf(float(v)) for v in z[n]]
        rest = mp.fsum(mp.exp(v - zm[t[n]]) for i, v in enumerate(zm) if i != t[n])
        assert ulp_error(grad[n, t[n]], np.array(-rest / (1 + rest), dtype=object), dtype) <= 2
    # the one-hot probability target takes the same care at the argmax
    g_prob = xent.cross_entropy_grad(z, xent.one_hot(t, 5, dtype=dtype), reduction="sum")
    np.testing.assert_allclose(g_prob[np.arange(2), t], grad[np.arange(2), t], rtol=4 * np.finfo(dtype).eps)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_bce_mean_gradient_divides_by_the_count(n):
    z, y = np.linspace(-2.0, 3.0, n), np.linspace(0.0, 1.0, n)
    np.testing.assert_allclose(xent.binary_cross_entropy_with_logits_grad(z, y),
                               xent.binary_cross_entropy_with_logits_grad(z, y, reduction="sum") / n, rtol=1e-15)
    np.testing.assert_allclose(xent.binary_cross_entropy_with_logits(z, y),
                               xent.binary_cross_entropy_with_logits(z, y, reduction="sum") / n, rtol=1e-15)


def test_bce_confident_sample_keeps_its_tail():
    """z = 40 with target 1 and z = −40 with target 0: each loss is log1p(e^-40) ≈ 4.25e-18, each gradient ∓σ(−40).

    torch gets the first right and returns 0 for the second (it forms log(1 + e^z) beside a 1)."""
    loss, grad = xent.binary_cross_entropy_with_logits_and_grad(np.array([40.0, -40.0]), np.array([1.0, 0.0]),
                                                                reduction="none")
    tail = float(mp.log1p(mp.exp(-40)))
    np.testing.assert_allclose(loss, [tail, tail], rtol=1e-15)
    np.testing.assert_allclose(grad, [-1 / (1 + math.exp(40)), 1 / (1 + math.exp(40))], rtol=1e-15)
    assert F.binary_cross_entropy_with_logits(t64([40.0]), t64([1.0])).item() == pytest.approx(tail, rel=1e-15)
    assert F.binary_cross_entropy_with_logits(t64([-40.0]), t64([0.0])).item() == 0.0


# --------------------------------------------------------------------------- names and values in messages; float32 kept


@pytest.mark.parametrize("call, name", [
    (lambda: xent.one_hot([[0, 1], [2]], 3), "target"),
    (lambda: xent.one_hot([0, 1], 0), "num_classes"),
    (lambda: xent.one_hot([0, 1], 3, dtype="float99"), "dtype"),
    (lambda: xent.cross_entropy(np.zeros((2, 3)), [[0], [1, 2]]), "target"),
    (lambda: xent.binary_cross_entropy_with_logits(np.zeros(2), [[0.0], [1.0, 2.0]]), "target"),
    (lambda: xent.binary_cross_entropy_with_logits(np.zeros((2, 3)), np.zeros((2, 3)), pos_weight=[1.0, 2.0]),
     "pos_weight"),
])
def test_messages_start_with_the_argument(call, name):
    with pytest.raises(ValueError, match=rf"^{name}: "):
        call()


@pytest.mark.parametrize("bad", [1.5, -0.5])
def test_bce_target_message_shows_the_bad_value(bad):
    with pytest.raises(ValueError, match=rf"^target: expected values in \[0, 1\], found {bad:g}$"):
        xent.binary_cross_entropy_with_logits(np.zeros(3), np.array([0.0, 1.0, bad]))


def test_probability_targets_with_logits_near_the_float_max_do_not_warn():
    z = np.array([[1.7e308, -1.7e308, 0.0]])
    y = np.array([[1.0, 0.0, 0.0]])
    assert xent.cross_entropy(z, y) == 0.0
    np.testing.assert_array_equal(xent.cross_entropy_grad(z, y), [[0.0, 0.0, 0.0]])
    # smoothing with a zero class weight where z − m overflows: 0 · (−inf) must not be nan
    loss = xent.cross_entropy(z, np.array([0]), weight=np.array([1.0, 0.0, 1.0]), label_smoothing=0.3)
    assert loss == pytest.approx(0.3 / 3 * 1.7e308, rel=1e-12)


def test_float32_probability_targets_are_accumulated_in_float64():
    """Soft targets over many classes: the float32 loss is the float64 loss of the same inputs, rounded once."""
    rng = np.random.default_rng(40)
    z = rng.normal(scale=3.0, size=(8, 4000)).astype(np.float32)
    y = rng.dirichlet(np.ones(4000), size=8).astype(np.float32)
    y /= y.sum(axis=1, keepdims=True)
    ours = xent.cross_entropy(z, y, reduction="none")
    ref = xent.cross_entropy(z.astype(np.float64), y.astype(np.float64), reduction="none")
    assert np.max(np.abs(ours - ref) / np.spacing(ref.astype(np.float32))) <= 1.0


def test_bce_float32_is_float32_arithmetic_and_weights_take_the_logits_dtype():
    rng = np.random.default_rng(41)
    z = rng.normal(scale=6.0, size=3000).astype(np.float32)
    y = rng.random(3000).astype(np.float32)
    u = (z >= 0).astype(np.float32)
    ref = np.log1p(np.exp(-np.abs(z))) + (u - y) * z  # the float32 formula of the kernel, step by step
    np.testing.assert_array_equal(xent.binary_cross_entropy_with_logits(z, y, reduction="none"), ref)
    w64 = rng.random(3000)
    np.testing.assert_array_equal(xent.binary_cross_entropy_with_logits(z, y, weight=w64, reduction="none"),
                                  xent.binary_cross_entropy_with_logits(z, y, weight=w64.astype(np.float32),
                                                                        reduction="none"))


def test_bce_float32_mean_is_accumulated_in_float64():
    rng = np.random.default_rng(42)
    z = rng.normal(scale=6.0, size=70_001).astype(np.float32)
    y = (rng.random(70_001) < 0.5).astype(np.float32)
    per = xent.binary_cross_entropy_with_logits(z, y, reduction="none")
    assert xent.binary_cross_entropy_with_logits(z, y) == np.float32(math.fsum(per.astype(np.float64)) / z.size)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_cross_entropy_loss_class_keeps_the_dtype_and_computes_in_float32(dtype):
    rng = np.random.default_rng(43)
    A = rng.normal(scale=3.0, size=(6, 5)).astype(dtype)
    Y = rng.dirichlet(np.ones(5), size=6).astype(np.float32)
    Y /= Y.sum(axis=1, keepdims=True)
    Y = Y.astype(dtype)
    out = xent.CrossEntropyLoss().forward(A, Y)
    assert out.dtype == dtype
    losses = -np.sum(Y.astype(np.float32) * xent.log_softmax(A.astype(np.float32)), axis=1)
    assert out == dtype(losses.astype(np.float64).sum() / 6)


def test_ignored_rows_have_a_plus_zero_gradient():
    z, t = logits_for((5, C), seed=50), np.array([1, -100, 3, -100, 0])
    for reduction in ("mean", "sum", "none"):
        g = xent.cross_entropy_grad(z, t, reduction=reduction)
        assert np.all(g[[1, 3]] == 0) and not np.any(np.signbit(g[[1, 3]]))


def test_blocks_join_up_with_ignored_rows_and_weights():
    rng = np.random.default_rng(51)
    z, t = rng.normal(size=(300, 700)), rng.integers(0, 700, size=300)
    t[::7] = -100
    w = rng.random(700) + 0.5
    for kwargs in ({}, {"weight": w}, {"weight": w, "label_smoothing": 0.2}):
        loss, grad = xent.cross_entropy_and_grad(z, t, **kwargs)
        ref_loss, ref_grad = torch_ce(z, t, **kwargs)
        np.testing.assert_allclose(loss, ref_loss, **TOL)
        np.testing.assert_allclose(grad, ref_grad, **TOL)


def test_one_class_with_an_ignored_row():
    z, t = np.array([[0.5], [2.0]]), np.array([0, -100])
    assert xent.cross_entropy(z, t) == 0.0
    np.testing.assert_array_equal(xent.cross_entropy_grad(z, t, reduction="sum"), [[0.0], [0.0]])


def test_float32_smoothing_is_accumulated_in_float64():
    rng = np.random.default_rng(52)
    z = rng.normal(scale=3.0, size=(8, 4000)).astype(np.float32)
    t = rng.integers(0, 4000, size=8)
    for weight in (None, (rng.random(4000) + 0.5).astype(np.float32)):
        ours = xent.cross_entropy(z, t, weight=weight, label_smoothing=0.3, reduction="none")
        ref = xent.cross_entropy(z.astype(np.float64), t, label_smoothing=0.3, reduction="none",
                                 weight=None if weight is None else weight.astype(np.float64))
        assert np.max(np.abs(ours - ref) / np.spacing(ref.astype(np.float32))) <= 1.0


def test_float32_index_targets_are_float32_arithmetic():
    """The gradient off the true class is exp(z − m) in float32 times one float32 scale per row; the loss
    is (m − z_t) in float32 plus log1p of the float64 rest."""
    rng = np.random.default_rng(53)
    z = rng.normal(scale=4.0, size=(6, 9)).astype(np.float32)
    t = rng.integers(0, 9, size=6)
    rows = np.arange(6)
    k = z.argmax(axis=1)
    m = z[rows, k]
    e = np.exp(z - m[:, None])
    e[rows, k] = 0
    r = e.sum(axis=1).astype(np.float64)
    e[rows, k] = 1
    ref = e * (1 / (6 * (1 + r))).astype(np.float32)[:, None]
    grad = xent.cross_entropy_grad(z, t)
    off = np.ones_like(z, dtype=bool)
    off[rows, t] = False
    np.testing.assert_array_equal(grad[off], ref[off])
    loss = ((m - z[rows, t]).astype(np.float64) + np.log1p(r)).astype(np.float32)
    np.testing.assert_array_equal(xent.cross_entropy(z, t, reduction="none"), loss)


@pytest.mark.parametrize("kwargs, match", [
    ({"label_smoothing": "0.1"}, r"^label_smoothing: expected a real number"),
    ({"ignore_index": 1.5}, r"^ignore_index: expected an integer"),
    ({"reduction": "avg"}, r"^reduction: "),
])
def test_cross_entropy_argument_types(kwargs, match):
    with pytest.raises(ValueError, match=match):
        xent.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), **kwargs)


@pytest.mark.parametrize("target", [np.array([True, False]), np.array(["a", "b"])])
def test_targets_that_are_neither_indices_nor_probabilities(target):
    with pytest.raises(ValueError, match=r"^target: expected integer class indices or floating probabilities"):
        xent.cross_entropy(np.zeros((2, 3)), target)


def test_all_ignored_mean_names_the_target():
    with pytest.raises(ValueError, match=r"^target: every entry equals ignore_index"):
        xent.cross_entropy(np.zeros((2, 3)), np.array([-100, -100]), weight=np.ones(3))


def test_more_argument_checks():
    with pytest.raises(ValueError, match=r"^num_classes: expected an integer"):
        xent.one_hot(np.array([0, 1]), 2.5)
    with pytest.raises(ValueError, match=r"^weight: the weights of the counted targets sum to 0"):
        xent.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), weight=np.array([0.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match=r"^logits: the class axis is empty"):
        xent.cross_entropy(np.zeros((2, 0, 3)), np.zeros((2, 3), dtype=np.int64), reduction="sum")
    # no positions (d1 = 0) is not an empty class axis: the sum is 0
    assert xent.cross_entropy(np.zeros((2, 3, 0)), np.zeros((2, 0), dtype=np.int64), reduction="sum") == 0.0


# --------------------------------------------------------------------------- bit for bit: float32 work, float64 sums
#
# The speed contract keeps the N×C work in the logits' dtype (float32 stays float32, float16 is computed in
# float32 and rounded once) and the per-row scalars and every sum that can lose digits in float64. A kernel
# that quietly did its N×C work in float64 would pass every error bound (it is more accurate, and slower);
# these tests pin the float32 arithmetic step by step, and each checks that the float64 alternative gives
# other bits, so that it can fail. Sums that float32 would get wrong get inputs where it does: an error of
# several ulps, beyond the 1-ulp bound.


def ulps32(x, ref):
    """|x − ref| in float32 ulps at ref (ref a float64 array)."""
    ref = np.asarray(ref, dtype=np.float64)
    return np.max(np.abs(np.asarray(x, dtype=np.float64) - ref) / np.spacing(ref.astype(np.float32)))


def test_unbatched_logits_keep_their_dtype_and_float16_is_computed_in_float32():
    rng = np.random.default_rng(60)
    z, y = rng.normal(scale=3.0, size=40), rng.dirichlet(np.ones(40))
    for target in (7, y):
        loss, grad = xent.cross_entropy_and_grad(z.astype(np.float32), target)
        assert loss.dtype == np.float32 and grad.dtype == np.float32 and grad.shape == (40,)
    for seed in range(8):  # float16 unbatched, as batched: the float32 result rounded once
        z16 = np.random.default_rng(seed).normal(scale=3.0, size=40).astype(np.float16)
        for target in (seed, y.astype(np.float16) / y.astype(np.float16).sum()):
            grad = xent.cross_entropy_grad(z16, target)
            assert grad.dtype == np.float16
            np.testing.assert_array_equal(grad, xent.cross_entropy_grad(z16.astype(np.float32), target).astype(np.float16))


def test_float32_weights_and_probability_targets_take_the_logits_dtype():
    """float64 weights and probability targets given with float32 logits are rounded to float32 first:
    the result has the bits of the float32 inputs."""
    rng = np.random.default_rng(61)
    z = rng.normal(scale=3.0, size=(64, 7)).astype(np.float32)
    t, y = rng.integers(0, 7, size=64), rng.dirichlet(np.ones(7), size=64)
    w = rng.random(7) + 0.5
    for target, target32, weight, weight32, eps in ((t, t, w, w.astype(np.float32), 0.0),
                                                    (t, t, w, w.astype(np.float32), 0.2),
                                                    (y, y.astype(np.float32), w, w.astype(np.float32), 0.0),
                                                    (y, y.astype(np.float32), None, None, 0.2)):
        got = xent.cross_entropy_and_grad(z, target, weight=weight, label_smoothing=eps, reduction="none")
        want = xent.cross_entropy_and_grad(z, target32, weight=weight32, label_smoothing=eps, reduction="none")
        for a, b in zip(got, want):
            assert a.dtype == np.float32
            np.testing.assert_array_equal(a, b)
        # the unrounded float64 inputs give other float32 results, so the test can fail
        z64 = z.astype(np.float64)
        exact = xent.cross_entropy(z64, target, weight=weight, label_smoothing=eps, reduction="none")
        rounded = xent.cross_entropy(z64, target32.astype(np.float64) if target32 is y else target32,
                                     weight=None if weight32 is None else weight32.astype(np.float64),
                                     label_smoothing=eps, reduction="none")
        assert np.any(exact.astype(np.float32) != rounded.astype(np.float32))


def test_float32_weighted_mean_divides_by_the_exact_sum_of_weights():
    """Weights 2^24 and 1: a float32 sum of the counted weights drops every 1 (2^24 + 1 rounds to 2^24);
    the denominator is summed in float64, so the mean of equal losses log 2 is log 2."""
    z = np.zeros((7, 2), dtype=np.float32)
    t = np.array([0, 1, 1, 1, 1, 1, 1])
    w = np.array([2.0 ** 24, 1.0], dtype=np.float32)
    assert np.sum(w[t], dtype=np.float32) == 2.0 ** 24  # what a float32 denominator would be
    loss, grad = xent.cross_entropy_and_grad(z, t, weight=w)
    assert loss == np.float32(math.log(2.0)) != np.float32(math.log(2.0) * (2 ** 24 + 6) / 2 ** 24)
    assert grad[0, 0] == np.float32(-2.0 ** 23 / (2 ** 24 + 6)) != np.float32(-0.5)


def test_float32_smoothing_sums_lose_nothing():
    """Label smoothing adds Σ_c w_c and Σ_c (m − z_c) over the classes: both are summed in float64, so a
    2^24 next to ones keeps the ones (a float32 sum would be several ulps off)."""
    eps = 0.5
    cases = [  # (logits, target, weight): Σ w = 2^24 + 4, then Σ (m − z_c) = 2^24 + 5
        (np.zeros((1, 5), dtype=np.float32), np.array([1]), np.array([2.0 ** 24, 1, 1, 1, 1], dtype=np.float32)),
        (np.array([[0.0, -2.0 ** 24, -1, -1, -1, -1, -1]], dtype=np.float32), np.array([0]), None),
    ]
    for z, t, w in cases:
        ours = xent.cross_entropy(z, t, weight=w, label_smoothing=eps, reduction="sum")
        ref = xent.cross_entropy(z.astype(np.float64), t, label_smoothing=eps, reduction="sum",
                                 weight=None if w is None else w.astype(np.float64))
        assert ulps32(ours, ref) <= 1.0


def test_float32_probability_target_sum_loses_nothing():
    """Σ_c T_c of the target [1, 2^-24, …] is 1 + 6·2^-24 in float64 and 1 in float32 (each 2^-24 is a tie
    that rounds back to 1): with equal logits the loss is Σ_c T_c · log 7, three float32 ulps above log 7."""
    z = np.zeros((1, 7), dtype=np.float32)
    y = np.array([[1.0] + [2.0 ** -24] * 6], dtype=np.float32)
    assert y.sum(dtype=np.float32) == 1.0
    ours = xent.cross_entropy(z, y, reduction="none")
    assert ulps32(ours, (1 + 6 * 2.0 ** -24) * math.log(7.0)) <= 0.5 < ulps32(np.float32(math.log(7.0)), ours)


def test_float32_smoothing_gradient_is_float32_arithmetic():
    """Off the true class the smoothed gradient is exp(z − m)·(one float32 scale per row) − (ε/C)·(1/N),
    the last term rounded to float32 once and subtracted in float32."""
    rng = np.random.default_rng(62)
    M, K, eps = 32, 9, 0.2
    z, t = rng.normal(scale=4.0, size=(M, K)).astype(np.float32), rng.integers(0, K, size=M)
    rows, k = np.arange(M), z.argmax(axis=1)
    e = np.exp(z - z[rows, k][:, None])
    e[rows, k] = 0
    r = e.sum(axis=1).astype(np.float64)
    e[rows, k] = 1
    e *= (((1 - eps) + eps) / M / (1 + r)).astype(np.float32)[:, None]
    ref = e - np.float32(eps / K / M)
    other = (e.astype(np.float64) - eps / K / M).astype(np.float32)  # the subtraction done in float64
    off = np.ones((M, K), dtype=bool)
    off[rows, t] = False
    np.testing.assert_array_equal(xent.cross_entropy_grad(z, t, label_smoothing=eps)[off], ref[off])
    assert np.any(other[off] != ref[off])


def test_float32_probability_target_gradient_is_float32_arithmetic():
    """Off the argmax the gradient is exp(z − m)·(ΣT/(N(1 + r)) rounded to float32) − T·float32(1/N)."""
    rng = np.random.default_rng(63)
    M, K = 32, 9
    z = rng.normal(scale=4.0, size=(M, K)).astype(np.float32)
    y = rng.dirichlet(np.ones(K), size=M).astype(np.float32)
    rows, k = np.arange(M), z.argmax(axis=1)
    e = np.exp(z - z[rows, k][:, None])
    e[rows, k] = 0
    r = e.sum(axis=1).astype(np.float64)
    scale = y.sum(axis=1, dtype=np.float64) / M / (1 + r)
    ref = e * scale.astype(np.float32)[:, None] - y * np.float32(1 / M)
    other = (e * scale[:, None]).astype(np.float32) - y * np.float32(1 / M)  # the product done in float64
    off = np.ones((M, K), dtype=bool)
    off[rows, k] = False
    np.testing.assert_array_equal(xent.cross_entropy_grad(z, y)[off], ref[off])
    assert np.any(other[off] != ref[off])


def test_float32_loss_alone_is_float32_arithmetic():
    """cross_entropy without the gradient: the exponentials and their row sum in float32, as with it."""
    rng = np.random.default_rng(64)
    z = rng.normal(scale=4.0, size=(256, 9)).astype(np.float32)
    t = rng.integers(0, 9, size=256)
    rows, k = np.arange(256), z.argmax(axis=1)
    d = z - z[rows, k][:, None]
    base = (z[rows, k] - z[rows, t]).astype(np.float64)
    e = np.exp(d)
    e[rows, k] = 0
    ref = (base + np.log1p(e.sum(axis=1).astype(np.float64))).astype(np.float32)
    e64 = np.exp(d.astype(np.float64))
    e64[rows, k] = 0
    other = (base + np.log1p(e64.sum(axis=1))).astype(np.float32)
    np.testing.assert_array_equal(xent.cross_entropy(z, t, reduction="none"), ref)
    assert np.any(other != ref)


def test_bce_float32_weighted_loss_is_float32_arithmetic():
    """With weight and pos_weight every step of the per-element loss is rounded to float32."""
    rng = np.random.default_rng(65)
    n = 3000
    z, y = rng.normal(scale=6.0, size=n).astype(np.float32), rng.random(n).astype(np.float32)
    w, pw = (rng.random(n) + 0.5).astype(np.float32), (rng.random(n) * 3).astype(np.float32)
    u = (z >= 0).astype(np.float32)
    P = u - ((1 - u) * pw + u) * y
    first = np.log1p(np.exp(-np.abs(z)))
    ref = (first * (1 + (pw - 1) * y) + P * z) * w
    other = ((first.astype(np.float64) * (1 + (pw - 1) * y) + P * z) * w).astype(np.float32)
    ours = xent.binary_cross_entropy_with_logits(z, y, weight=w, pos_weight=pw, reduction="none")
    np.testing.assert_array_equal(ours, ref)
    assert np.any(other != ref)


def test_bce_float32_mean_loses_nothing_to_a_large_element():
    """A loss of 2^24 among six of log 2: float32 would drop all six; the sum is float64."""
    z = np.array([-2.0 ** 24, 0, 0, 0, 0, 0, 0], dtype=np.float32)
    y = np.array([1.0, 0, 0, 0, 0, 0, 0], dtype=np.float32)
    per = xent.binary_cross_entropy_with_logits(z, y, reduction="none")
    assert per[0] == 2.0 ** 24 and per.sum(dtype=np.float32) == 2.0 ** 24
    want = np.float32(math.fsum(per.astype(np.float64)) / 7)
    assert xent.binary_cross_entropy_with_logits(z, y) == want != np.float32(2.0 ** 24 / 7)
    assert xent.binary_cross_entropy_with_logits(z, y, reduction="sum") == np.float32(math.fsum(per.astype(np.float64)))


def test_cross_entropy_loss_class_float16_probabilities_are_computed_in_float32():
    rng = np.random.default_rng(66)
    A = rng.normal(scale=3.0, size=(16, 40)).astype(np.float16)
    Y = np.full((16, 40), 1 / 40, dtype=np.float16)
    layer = xent.CrossEntropyLoss()
    layer.forward(A, Y)
    assert layer.probs.dtype == np.float16
    np.testing.assert_array_equal(layer.probs, xent.softmax(A.astype(np.float32), axis=1).astype(np.float16))


def test_cross_entropy_loss_class_float32_mean_loses_nothing_to_a_large_row():
    """A row's loss of 2^25 among six of log 2: the float32 losses are summed in float64."""
    A = np.zeros((7, 2), dtype=np.float32)
    A[0, 1] = -2.0 ** 25
    Y = np.zeros((7, 2), dtype=np.float32)
    Y[0, 1] = 1
    Y[1:, 0] = 1
    losses = -np.sum(Y * xent.log_softmax(A, axis=1), axis=1)
    assert losses[0] == 2.0 ** 25 and losses.sum(dtype=np.float32) == 2.0 ** 25
    want = np.float32(math.fsum(losses.astype(np.float64)) / 7)
    assert xent.CrossEntropyLoss().forward(A, Y) == want != np.float32(2.0 ** 25 / 7)


def test_float32_logits_near_the_float_max():
    """As in float64: z − m overflows to −inf in float32, and a zero target or weight times it is 0, not nan."""
    z = np.array([[3e38, -3e38, 0.0]], dtype=np.float32)
    y = np.array([[1.0, 0.0, 0.0]], dtype=np.float32)
    assert xent.cross_entropy(z, y) == 0.0
    np.testing.assert_array_equal(xent.cross_entropy_grad(z, y), [[0.0, 0.0, 0.0]])
    loss = xent.cross_entropy(z, np.array([0]), weight=np.array([1.0, 0.0, 1.0]), label_smoothing=0.3)
    assert loss.dtype == np.float32 and loss == pytest.approx(0.3 / 3 * 3e38, rel=1e-6)


def test_float16_bce_gradient_is_float32_rounded_once_at_every_float16_logit():
    """Every finite float16 logit: the float16 gradient is the float32 one rounded (not the float64 one)."""
    z = np.arange(1 << 16, dtype=np.uint16).view(np.float16)
    z = z[np.isfinite(z)]
    for target in (0.0, 0.3, 1.0):
        y = np.full_like(z, target)
        got = xent.binary_cross_entropy_with_logits_grad(z, y, reduction="none")
        assert got.dtype == np.float16
        via32 = xent.binary_cross_entropy_with_logits_grad(z.astype(np.float32), y.astype(np.float32), reduction="none")
        via64 = xent.binary_cross_entropy_with_logits_grad(z.astype(np.float64), y.astype(np.float64), reduction="none")
        np.testing.assert_array_equal(got, via32.astype(np.float16))
        assert target == 0.0 or np.any(via64.astype(np.float16) != via32.astype(np.float16))
