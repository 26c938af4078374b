"""Unit tests of xent.information: self_information, entropy, distribution_cross_entropy, kl_divergence.

References: hand-worked values (the table-tennis match, a fair coin, a certain event) made exact with
SymPy; torch.distributions (Categorical entropy, kl_divergence) and F.kl_div in float64; and the
properties the book proves (Gibbs' inequality, H ≤ log C, D_KL = H(p, q) − H(p), change of base).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F
from torch.distributions import Categorical, kl_divergence as torch_kl

import xent

# Any RuntimeWarning (0·log 0, divide by zero) is a failure: a notebook would print it with a path.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

TOL = dict(rtol=1e-12, atol=1e-15)
MATCH = [63 / 64, 1 / 64]  # a table-tennis match one side has won 63 times out of 64


def dirichlet(shape, seed=0, alpha=1.0):
    """Seeded random distributions along the last axis."""
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.full(shape[-1], alpha), size=shape[:-1])


def t64(x):
    return torch.tensor(np.asarray(x), dtype=torch.float64)


# --------------------------------------------------------------------------- hand-worked values


def test_table_tennis_self_information_in_bits():
    fav, dog = sp.Rational(63, 64), sp.Rational(1, 64)
    i_fav = sp.log(1 / fav, 2)
    assert sp.simplify(i_fav - (6 - sp.log(63, 2))) == 0  # log2(64/63) = 6 − log2 63
    assert sp.simplify(sp.log(1 / dog, 2) - 6) == 0
    ours = xent.self_information(MATCH, base=2)
    np.testing.assert_allclose(ours, [float(i_fav), 6.0], rtol=1e-14)
    assert round(float(ours[0]), 4) == 0.0227
    assert ours[1] == pytest.approx(6.0, rel=1e-15)


def test_table_tennis_entropy_in_bits():
    fav, dog = sp.Rational(63, 64), sp.Rational(1, 64)
    H = -(fav * sp.log(fav, 2) + dog * sp.log(dog, 2))
    ours = xent.entropy(MATCH, base=2)
    np.testing.assert_allclose(ours, float(H), rtol=1e-14)
    assert round(float(ours), 4) == 0.1161
    # entropy is the mean surprisal: Σ p_i I(p_i)
    np.testing.assert_allclose(ours, np.dot(MATCH, xent.self_information(MATCH, base=2)), rtol=1e-14)


def test_fair_coin_is_one_bit():
    assert xent.entropy([0.5, 0.5], base=2) == pytest.approx(1.0, rel=1e-15)
    assert xent.self_information(0.5, base=2) == pytest.approx(1.0, rel=1e-15)
    np.testing.assert_allclose(xent.entropy([0.5, 0.5]), math.log(2), rtol=1e-15)


@pytest.mark.parametrize("base", [None, 2, 10])
def test_certain_event_carries_no_information(base):
    # exactly +0.0, not −0.0 (which a notebook would print as "-0.0000"), and no 0·log 0 warning
    for value in (xent.self_information(1.0, base=base), xent.entropy([1.0, 0.0], base=base),
                  xent.entropy([0.0, 0.0, 1.0], base=base), xent.distribution_cross_entropy([0.0, 1.0], [0.0, 1.0], base=base),
                  xent.kl_divergence([1.0, 0.0], [1.0, 0.0], base=base)):
        assert value == 0.0 and not np.signbit(value)
        assert f"{float(value):.4f}" == "0.0000"


def test_impossible_event_is_infinitely_surprising():
    assert xent.self_information(0.0) == np.inf
    np.testing.assert_array_equal(xent.self_information([1.0, 0.0, 0.25], base=2), [0.0, np.inf, 2.0])


def test_self_information_exact_values_sympy():
    ps = [sp.Rational(1, 3), sp.Rational(2, 7), sp.Rational(9, 10)]
    for base, sp_base in [(None, sp.E), (2, 2), (10, 10), (math.e, sp.E)]:
        ours = xent.self_information([float(p) for p in ps], base=base)
        np.testing.assert_allclose(ours, [float(-sp.log(p, sp_base)) for p in ps], rtol=1e-14)


def test_additive_for_independent_events():
    p, q = 0.3, 0.45
    np.testing.assert_allclose(xent.self_information(p * q),
                               xent.self_information(p) + xent.self_information(q), rtol=1e-14)


# --------------------------------------------------------------------------- torch references


@pytest.mark.parametrize("shape", [(4,), (6, 3), (2, 5, 7)])
def test_entropy_matches_torch_categorical(shape):
    p = dirichlet(shape, seed=1)
    np.testing.assert_allclose(xent.entropy(p), Categorical(probs=t64(p)).entropy().numpy(), **TOL)


def test_entropy_with_zeros_matches_torch():
    p = np.array([[0.5, 0.0, 0.5], [0.0, 0.0, 1.0], [0.2, 0.3, 0.5]])
    np.testing.assert_allclose(xent.entropy(p), Categorical(probs=t64(p)).entropy().numpy(), **TOL)


@pytest.mark.parametrize("shape", [(4,), (6, 3), (2, 5, 7)])
def test_kl_matches_torch_kl_divergence_and_kl_div(shape):
    p, q = dirichlet(shape, seed=2), dirichlet(shape, seed=3)
    ours = xent.kl_divergence(p, q)
    np.testing.assert_allclose(ours, torch_kl(Categorical(probs=t64(p)), Categorical(probs=t64(q))).numpy(), **TOL)
    # F.kl_div takes log-probabilities of the model q first, then the target p: D_KL(p ‖ q)
    np.testing.assert_allclose(ours, F.kl_div(t64(q).log(), t64(p), reduction="none").sum(-1).numpy(), **TOL)


def test_swapped_kl_div_arguments_give_a_different_number():
    p, q = np.array([0.8, 0.15, 0.05]), np.array([0.3, 0.4, 0.3])
    right = F.kl_div(t64(q).log(), t64(p), reduction="sum").item()
    swapped = F.kl_div(t64(p).log(), t64(q), reduction="sum").item()  # D_KL(q ‖ p)
    assert right == pytest.approx(float(xent.kl_divergence(p, q)), rel=1e-12)
    assert swapped == pytest.approx(float(xent.kl_divergence(q, p)), rel=1e-12)
    assert abs(right - swapped) > 0.05


@pytest.mark.parametrize("shape", [(4,), (6, 3)])
def test_distribution_cross_entropy_matches_torch(shape):
    p, q = dirichlet(shape, seed=4), dirichlet(shape, seed=5)
    ref = -(t64(p) * t64(q).log()).sum(-1)
    np.testing.assert_allclose(xent.distribution_cross_entropy(p, q), ref.numpy(), **TOL)
    # = F.cross_entropy with logits log q and probability targets p, reduction 'none'
    ref2 = F.cross_entropy(t64(q).log().reshape(-1, shape[-1]), t64(p).reshape(-1, shape[-1]), reduction="none")
    np.testing.assert_allclose(np.ravel(xent.distribution_cross_entropy(p, q)), ref2.numpy(), **TOL)


# --------------------------------------------------------------------------- properties


@pytest.mark.parametrize("alpha", [0.1, 1.0, 10.0])
def test_gibbs_inequality_on_random_dirichlet_pairs(alpha):
    p, q = dirichlet((200, 5), seed=6, alpha=alpha), dirichlet((200, 5), seed=7, alpha=alpha)
    assert np.all(xent.kl_divergence(p, q) >= 0)
    assert np.all(xent.distribution_cross_entropy(p, q) >= xent.entropy(p) - 1e-15)


def test_kl_is_zero_iff_p_equals_q():
    p = dirichlet((50, 6), seed=8)
    np.testing.assert_allclose(xent.kl_divergence(p, p), 0.0, atol=1e-15)
    q = np.roll(p, 1, axis=-1)
    assert np.all(xent.kl_divergence(p, q) > 0)


@pytest.mark.parametrize("base", [None, 2, 10])
def test_kl_is_cross_entropy_minus_entropy(base):
    p, q = dirichlet((30, 4), seed=9), dirichlet((30, 4), seed=10)
    np.testing.assert_allclose(
        xent.kl_divergence(p, q, base=base),
        xent.distribution_cross_entropy(p, q, base=base) - xent.entropy(p, base=base),
        rtol=1e-10, atol=1e-14)


def test_kl_symbolic_expansion():
    C = 4
    p = sp.symbols(f"p0:{C}", positive=True)
    q = sp.symbols(f"q0:{C}", positive=True)
    kl = sum(pi * sp.log(pi / qi) for pi, qi in zip(p, q))
    diff = -sum(pi * sp.log(qi) for pi, qi in zip(p, q)) + sum(pi * sp.log(pi) for pi in p)
    assert sp.simplify(sp.expand_log(kl - diff, force=True)) == 0


def test_kl_is_not_symmetric():
    p, q = [0.9, 0.1], [0.5, 0.5]
    assert abs(xent.kl_divergence(p, q) - xent.kl_divergence(q, p)) > 0.1


def test_kl_support_conventions():
    # 0·log(0/q) = 0; p > 0 where q = 0 gives +inf (and no warning)
    np.testing.assert_allclose(xent.kl_divergence([1.0, 0.0], [0.5, 0.5]), math.log(2), rtol=1e-15)
    assert xent.kl_divergence([0.5, 0.5], [1.0, 0.0]) == np.inf
    assert xent.distribution_cross_entropy([0.5, 0.5], [1.0, 0.0]) == np.inf
    assert xent.kl_divergence([0.0, 1.0], [0.0, 1.0]) == 0.0


@pytest.mark.parametrize("C", [1, 2, 3, 10, 1000])
def test_entropy_bounded_by_log_c_attained_at_uniform(C):
    p = dirichlet((100, C), seed=11, alpha=0.5)
    H = xent.entropy(p)
    assert np.all(H >= 0) and np.all(H <= math.log(C) + 1e-12)
    np.testing.assert_allclose(xent.entropy(np.full(C, 1 / C)), math.log(C), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(xent.entropy(np.full(C, 1 / C), base=2), math.log2(C), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("base", [2, 10, math.e, 0.5, 3.7])
def test_change_of_base(base):
    p, q = dirichlet((5, 3), seed=12), dirichlet((5, 3), seed=13)
    ln_b = math.log(base)
    np.testing.assert_allclose(xent.self_information(p, base=base), xent.self_information(p) / ln_b, **TOL)
    np.testing.assert_allclose(xent.entropy(p, base=base), xent.entropy(p) / ln_b, **TOL)
    np.testing.assert_allclose(xent.distribution_cross_entropy(p, q, base=base),
                               xent.distribution_cross_entropy(p, q) / ln_b, **TOL)
    np.testing.assert_allclose(xent.kl_divergence(p, q, base=base), xent.kl_divergence(p, q) / ln_b, **TOL)


def test_bits_are_nats_over_ln2():
    p = dirichlet((8, 4), seed=14)
    np.testing.assert_allclose(xent.entropy(p, base=2), xent.entropy(p) / math.log(2), **TOL)
    np.testing.assert_allclose(xent.entropy(p, base=2), -(p * np.log2(p)).sum(-1), **TOL)


def test_entropy_along_another_axis():
    p = dirichlet((4, 6), seed=15)
    np.testing.assert_allclose(xent.entropy(p.T, axis=0), xent.entropy(p), **TOL)
    q = dirichlet((4, 6), seed=16)
    np.testing.assert_allclose(xent.kl_divergence(p.T, q.T, axis=0), xent.kl_divergence(p, q), **TOL)
    np.testing.assert_allclose(xent.distribution_cross_entropy(p.T, q.T, axis=0),
                               xent.distribution_cross_entropy(p, q), **TOL)


# --------------------------------------------------------------------------- dtypes

FUNCS = {
    "self_information": lambda p, q, base: xent.self_information(p, base=base),
    "entropy": lambda p, q, base: xent.entropy(p, base=base),
    "distribution_cross_entropy": lambda p, q, base: xent.distribution_cross_entropy(p, q, base=base),
    "kl_divergence": lambda p, q, base: xent.kl_divergence(p, q, base=base),
}


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("base", [None, 2])
def test_float32_in_float32_out_and_close_to_float64(name, base):
    p, q = dirichlet((6, 4), seed=17), dirichlet((6, 4), seed=18)
    out32 = FUNCS[name](p.astype(np.float32), q.astype(np.float32), base)
    out64 = FUNCS[name](p, q, base)
    assert out32.dtype == np.float32 and out64.dtype == np.float64
    np.testing.assert_allclose(out32, out64, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", FUNCS)
def test_integer_input_becomes_float64(name):
    assert FUNCS[name](np.array([0, 1]), np.array([0, 1]), None).dtype == np.float64


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("base", [0, 1, 1.0, -2, np.inf, np.nan])
def test_bad_base_raises(name, base):
    with pytest.raises(ValueError, match="base"):
        FUNCS[name]([0.5, 0.5], [0.25, 0.75], base)


@pytest.mark.parametrize("p", [-0.1, 1.5, [0.2, 1.0001], [np.nan], [np.inf]])
def test_self_information_rejects_non_probabilities(p):
    with pytest.raises(ValueError, match="p"):
        xent.self_information(p)


@pytest.mark.parametrize("name", ["entropy", "distribution_cross_entropy", "kl_divergence"])
@pytest.mark.parametrize(
    "p", [[0.5, 0.6], [1.2, -0.2], [0.5, np.nan], [np.inf, 0.0], [[0.5, 0.5], [0.3, 0.3]]],
    ids=["sum>1", "negative", "nan", "inf", "second row"])
def test_p_must_be_a_distribution(name, p):
    q = np.full(np.shape(p), 0.5)
    with pytest.raises(ValueError, match="p"):
        FUNCS[name](p, q, None)


@pytest.mark.parametrize("name", ["distribution_cross_entropy", "kl_divergence"])
@pytest.mark.parametrize("q", [[0.5, 0.6], [1.2, -0.2], [0.5, np.nan]], ids=["sum>1", "negative", "nan"])
def test_q_must_be_a_distribution(name, q):
    with pytest.raises(ValueError, match="q"):
        FUNCS[name]([0.5, 0.5], q, None)


@pytest.mark.parametrize("name", ["distribution_cross_entropy", "kl_divergence"])
@pytest.mark.parametrize("q", [[1 / 3, 1 / 3, 1 / 3], [[0.5, 0.5], [0.5, 0.5]]], ids=["more classes", "batched"])
def test_distributions_of_different_shapes_raise(name, q):
    with pytest.raises(ValueError, match="shape"):
        FUNCS[name]([0.5, 0.5], q, None)


@pytest.mark.parametrize("p", [np.float64(1.0), np.zeros((2, 0))], ids=["scalar", "empty"])
def test_entropy_needs_a_class_axis(p):
    with pytest.raises(ValueError, match="p"):
        xent.entropy(p)


def test_one_hot_like_vector_with_two_ones_is_not_a_distribution():
    with pytest.raises(ValueError, match="sum to 1"):
        xent.entropy([0.0, 1.0, 0.0, 1.0])


# --------------------------------------------------------------------------- every bad argument: a ValueError naming it
#
# The sweep covers every public function and every argument: out-of-range and non-integer axes, flags
# that are not bools, bases, reductions, smoothing factors and indices of the wrong type, ragged or
# non-numeric arrays. Nothing may escape as an IndexError, a TypeError or a silent nan.

Z2 = np.array([[0.5, -1.0, 2.0], [1.0, 0.0, -3.0]])
P2 = np.array([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]])
T2 = np.array([2, 0])

CALLS = {  # name → (function of keyword arguments, the valid keyword arguments)
    "softmax": (lambda **k: xent.softmax(**k), dict(z=Z2, axis=-1)),
    "log_softmax": (lambda **k: xent.log_softmax(**k), dict(z=Z2, axis=-1)),
    "logsumexp": (lambda **k: xent.logsumexp(**k), dict(z=Z2, axis=-1, keepdims=False)),
    "sigmoid": (lambda **k: xent.sigmoid(**k), dict(z=Z2)),
    "log_sigmoid": (lambda **k: xent.log_sigmoid(**k), dict(z=Z2)),
    "softmax_jacobian": (lambda **k: xent.softmax_jacobian(**k), dict(z=Z2)),
    "softmax_vjp": (lambda **k: xent.softmax_vjp(**k), dict(z=Z2, g=Z2)),
    "self_information": (lambda **k: xent.self_information(**k), dict(p=P2, base=2)),
    "entropy": (lambda **k: xent.entropy(**k), dict(p=P2, base=2, axis=-1)),
    "distribution_cross_entropy": (lambda **k: xent.distribution_cross_entropy(**k), dict(p=P2, q=P2, base=2, axis=-1)),
    "kl_divergence": (lambda **k: xent.kl_divergence(**k), dict(p=P2, q=P2, base=2, axis=-1)),
    "one_hot": (lambda **k: xent.one_hot(**k), dict(target=T2, num_classes=3, dtype=np.float64)),
    "CrossEntropyLoss.forward": (lambda **k: xent.CrossEntropyLoss().forward(**k), dict(A=Z2, Y=P2)),
}
for _name in ("cross_entropy", "cross_entropy_grad", "cross_entropy_and_grad"):
    CALLS[_name] = (functools.partial(lambda name, **k: getattr(xent, name)(**k), _name),
                    dict(logits=Z2, target=T2, weight=np.ones(3), ignore_index=-100, reduction="mean",
                         label_smoothing=0.1))
for _name in ("binary_cross_entropy_with_logits", "binary_cross_entropy_with_logits_grad",
              "binary_cross_entropy_with_logits_and_grad"):
    CALLS[_name] = (functools.partial(lambda name, **k: getattr(xent, name)(**k), _name),
                    dict(logits=Z2, target=P2, weight=np.ones(3), pos_weight=np.ones(3), reduction="mean"))

ARRAY_BAD = ["abc", [[1.0, 2.0], [3.0]], None, np.array([[np.nan, 0.0, 1.0], [0.0, 1.0, 0.0]])]
BAD = {
    "axis": [2, -3, 1.5, None, "0", True],
    "keepdims": ["yes", None],
    "base": ["2", [2], 0, 1, -1.0, np.nan, np.inf, True],
    "ignore_index": [1.5, "a", None, True],
    "reduction": ["avg", None, 1, ["mean"]],
    "label_smoothing": ["0.1", None, -0.1, 1.1, np.nan, True],
    "num_classes": [0, -1, 2.5, "3", None, True],
    "dtype": ["float99", object()],
    **{a: ARRAY_BAD for a in ("z", "g", "p", "q", "logits", "target", "A", "Y")},
    **{a: [v for v in ARRAY_BAD if v is not None] for a in ("weight", "pos_weight")},  # None means no weights
}
CASES = [(name, arg, i) for name, (_, valid) in CALLS.items() for arg in valid for i in range(len(BAD[arg]))]


def test_every_public_function_is_swept():
    swept = {name.split(".")[0] for name in CALLS}
    mine = {n for n in xent.__all__ if getattr(xent, n).__module__.split(".")[-1] in ("softmax", "information", "loss")}
    assert mine <= swept, f"not in the bad-argument sweep: {sorted(mine - swept)}"
    for name, (fn, valid) in CALLS.items():
        fn(**valid)  # the valid arguments are valid


@pytest.mark.parametrize("name, arg, i", CASES, ids=[f"{n}-{a}-{i}" for n, a, i in CASES])
def test_bad_argument_is_a_value_error_naming_it(name, arg, i):
    fn, valid = CALLS[name]
    bad = BAD[arg][i]
    kwargs = {**valid, arg: bad}
    with pytest.raises(ValueError, match=rf"\b{arg}\b") as info:
        fn(**kwargs)
    assert type(info.value) is ValueError or issubclass(type(info.value), ValueError)


# --------------------------------------------------------------------------- dtypes: computed in the input's precision


def test_float32_is_computed_in_float32():
    """float32 in: the arithmetic is float32 (bit for bit NumPy's float32 log), not float64 rounded at the end."""
    p = np.random.default_rng(7).dirichlet(np.ones(6), size=4).astype(np.float32)
    p /= p.sum(axis=-1, keepdims=True)
    np.testing.assert_array_equal(xent.self_information(p), np.float32(0.0) - np.log(p))
    np.testing.assert_array_equal(xent.entropy(p), np.float32(0.0) - np.sum(p * np.log(p), axis=-1))
    q = p[::-1].copy()
    np.testing.assert_array_equal(xent.distribution_cross_entropy(p, q), np.float32(0.0) - np.sum(p * np.log(q), axis=-1))
    np.testing.assert_array_equal(xent.kl_divergence(p, q), np.sum(p * np.log(p) - p * np.log(q), axis=-1))


@pytest.mark.parametrize("name", ["distribution_cross_entropy", "kl_divergence"])
def test_mixed_dtypes_give_the_wider_one(name):
    p32 = np.array([0.25, 0.75], dtype=np.float32)
    q64 = np.array([0.5, 0.5])
    fn = getattr(xent, name)
    assert fn(p32, q64).dtype == np.float64 and fn(q64, p32).dtype == np.float64
    assert fn(p32, q64.astype(np.float16)).dtype == np.float32
    np.testing.assert_allclose(fn(p32, q64), fn(p32.astype(np.float64), q64), rtol=1e-15)


@pytest.mark.parametrize("name", FUNCS)
def test_float16_is_computed_in_float32_and_rounded_once(name):
    p = np.array([[0.125, 0.375, 0.5], [0.0, 0.25, 0.75]], dtype=np.float16)
    q = p[::-1].copy()
    out = FUNCS[name](p, q, 2)
    assert out.dtype == np.float16
    np.testing.assert_array_equal(out, FUNCS[name](p.astype(np.float32), q.astype(np.float32), 2).astype(np.float16))


# --------------------------------------------------------------------------- the checks themselves, to the boundary

TOL64 = float(np.sqrt(np.finfo(np.float64).eps))


@pytest.mark.parametrize("p, ok", [
    ([0.5, 0.5 + 1.2 * TOL64], True),        # C = 2: within sqrt(eps)·sqrt(2)
    ([0.5, 0.5 + 1.6 * TOL64], False),
    ([1.0 + 0.9 * TOL64], True),               # C = 1: within sqrt(eps)·1
    ([1.0 + 1.2 * TOL64], False),
    ([0.25, 0.25, 0.25, 0.25 + 1.9 * TOL64], True),  # C = 4: within 2·sqrt(eps)
    ([0.25, 0.25, 0.25, 0.25 + 3.0 * TOL64], False),
    ([0.5, 0.5 + 1e-6], False),                # no relative tolerance on top
])
def test_sums_to_one_tolerance_is_sqrt_eps_times_sqrt_c(p, ok):
    if ok:
        xent.entropy(np.array(p))
    else:
        with pytest.raises(ValueError, match=r"^p: each distribution must sum to 1"):
            xent.entropy(np.array(p))


def test_a_float16_sum_is_checked_before_it_is_rounded_to_float16():
    """C = 4 float16 probabilities summing to 1 + 2^-4 + 2^-12, just past the tolerance √ε·√4 = 2^-4: summed in
    float32 the excess shows; a float16 sum would round it to 1 + 2^-4 and let the distribution through."""
    p = np.array([0.5, 0.5, 2.0 ** -4, 2.0 ** -12], dtype=np.float16)
    assert p.sum() == 1 + 2.0 ** -4 and p.sum(dtype=np.float32) == 1 + 2.0 ** -4 + 2.0 ** -12
    with pytest.raises(ValueError, match=r"^p: each distribution must sum to 1"):
        xent.entropy(p)
    xent.entropy(np.array([0.5, 0.5, 2.0 ** -4, 0.0], dtype=np.float16))  # at the tolerance: accepted


@pytest.mark.parametrize("bad_row, shown", [([0.5, 0.4], "0.9"), ([0.6, 0.5], "1.1")])
def test_the_message_shows_the_worst_sum(bad_row, shown):
    with pytest.raises(ValueError, match=rf"^p: each distribution must sum to 1 along axis -1, found a sum of {shown}$"):
        xent.entropy(np.array([[0.5, 0.5], bad_row, [0.25, 0.75]]))


def test_messages_name_the_argument_and_the_bad_entry():
    with pytest.raises(ValueError, match=r"^p: the class axis is empty"):
        xent.entropy(np.zeros((2, 0)))
    with pytest.raises(ValueError, match=r"^p: every entry must be finite, found nan$"):
        xent.entropy(np.array([0.5, np.nan]))
    with pytest.raises(ValueError, match=r"^axis: 2 is out of range for an array of 2 dimension\(s\) "
                                         r"\(expected an integer in \[-2, 2\)\)$"):
        xent.softmax(np.zeros((2, 3)), axis=2)


def test_finite_check_does_not_warn_or_misfire_on_an_overflowing_sum():
    """The fast finiteness check sums the array: a sum that overflows (or is inf − inf) must neither warn nor
    decide wrongly."""
    np.testing.assert_array_equal(xent.softmax(np.array([1.7e308, 1.7e308])), [0.5, 0.5])
    with pytest.raises(ValueError, match=r"^z: every entry must be finite, found inf$"):
        xent.softmax(np.array([np.inf, -np.inf]))


def test_reduce_none_keeps_the_losses():
    losses = np.array([1.0, 2.0], dtype=np.float32)
    out = xent._checks.reduce(losses, "none", dtype=np.float16)
    assert out.dtype == np.float16
    np.testing.assert_array_equal(out, [1.0, 2.0])
    assert xent._checks.reduce(losses, "sum") == 3.0 and xent._checks.reduce(losses, "mean", 4.0) == 0.75
