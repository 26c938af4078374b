"""Unit tests of xent.softmax: softmax, log_softmax, logsumexp, sigmoid, log_sigmoid, the Jacobian, the VJP.

References: PyTorch in float64 (the oracle), SymPy (exact values), and the mathematical properties
the book proves (sums to 1, shift invariance, LSE bounds, the Jacobian's symmetry and PSD-ness).
"""

from __future__ import annotations

import functools
import pathlib
import re

import mpmath as mp
import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F

import xent

# Any RuntimeWarning (overflow, invalid value) is a failure: stable code must not warn.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

TOL = dict(rtol=1e-12, atol=1e-14)
SHAPES = [(5,), (4, 7), (2, 3, 6)]


def rand(shape, seed=0, scale=3.0):
    """Seeded float64 logits."""
    return np.random.default_rng(seed).normal(scale=scale, size=shape)


def t64(x):
    return torch.tensor(np.asarray(x), dtype=torch.float64)


# --------------------------------------------------------------------------- torch references


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    "ours, theirs",
    [
        (xent.softmax, lambda z, axis: torch.softmax(z, dim=axis)),
        (xent.log_softmax, lambda z, axis: torch.log_softmax(z, dim=axis)),
        (xent.logsumexp, lambda z, axis: torch.logsumexp(z, dim=axis)),
    ],
    ids=["softmax", "log_softmax", "logsumexp"],
)
def test_matches_torch_along_every_axis(shape, ours, theirs):
    z = rand(shape)
    for axis in range(-len(shape), len(shape)):
        np.testing.assert_allclose(ours(z, axis=axis), theirs(t64(z), axis).numpy(), **TOL)


@pytest.mark.parametrize("shape", SHAPES)
def test_default_axis_is_last(shape):
    z = rand(shape, seed=1)
    np.testing.assert_allclose(xent.softmax(z), torch.softmax(t64(z), dim=-1).numpy(), **TOL)
    np.testing.assert_allclose(xent.log_softmax(z), torch.log_softmax(t64(z), dim=-1).numpy(), **TOL)
    np.testing.assert_allclose(xent.logsumexp(z), torch.logsumexp(t64(z), dim=-1).numpy(), **TOL)


def test_logsumexp_keepdims():
    z = rand((3, 4))
    out = xent.logsumexp(z, keepdims=True)
    assert out.shape == (3, 1)
    np.testing.assert_allclose(out, torch.logsumexp(t64(z), dim=-1, keepdim=True).numpy(), **TOL)
    assert xent.logsumexp(z, axis=0, keepdims=True).shape == (1, 4)


@pytest.mark.parametrize("shape", [(), (7,), (3, 5)])
def test_sigmoid_and_log_sigmoid_match_torch(shape):
    z = rand(shape, seed=2, scale=10.0)
    np.testing.assert_allclose(xent.sigmoid(z), torch.sigmoid(t64(z)).numpy(), **TOL)
    np.testing.assert_allclose(xent.log_sigmoid(z), F.logsigmoid(t64(z)).numpy(), **TOL)


@pytest.mark.parametrize("shape", [(3,), (6,), (4, 5), (2, 3, 4)])
def test_softmax_jacobian_matches_torch_autograd(shape):
    z = rand(shape, seed=3)
    J = xent.softmax_jacobian(z)
    assert J.shape == shape + (shape[-1],)
    for idx in np.ndindex(shape[:-1]):
        ref = torch.autograd.functional.jacobian(lambda v: torch.softmax(v, dim=-1), t64(z[idx])).numpy()
        np.testing.assert_allclose(J[idx], ref, **TOL)


@pytest.mark.parametrize("shape", [(4,), (3, 5), (2, 3, 6)])
def test_softmax_vjp_matches_torch_backward_and_the_jacobian(shape):
    z, g = rand(shape, seed=4), rand(shape, seed=5)
    zt = t64(z).requires_grad_()
    torch.softmax(zt, dim=-1).backward(t64(g))
    vjp = xent.softmax_vjp(z, g)
    np.testing.assert_allclose(vjp, zt.grad.numpy(), **TOL)
    np.testing.assert_allclose(vjp, np.einsum("...i,...ij->...j", g, xent.softmax_jacobian(z)), **TOL)


def test_gradients_of_log_softmax_logsumexp_sigmoid_via_autograd():
    # d LSE / dz = softmax; d log σ(z) / dz = 1 − σ(z) = σ(−z); dσ/dz = σ(1 − σ)
    z = rand((6,), seed=6)
    zt = t64(z).requires_grad_()
    torch.logsumexp(zt, dim=-1).backward()
    np.testing.assert_allclose(xent.softmax(z), zt.grad.numpy(), **TOL)
    zt = t64(z).requires_grad_()
    F.logsigmoid(zt).sum().backward()
    np.testing.assert_allclose(xent.sigmoid(-z), zt.grad.numpy(), **TOL)
    zt = t64(z).requires_grad_()
    torch.sigmoid(zt).sum().backward()
    s = xent.sigmoid(z)
    np.testing.assert_allclose(s * (1 - s), zt.grad.numpy(), **TOL)


# --------------------------------------------------------------------------- SymPy exact values


def test_softmax_of_1_2_half_exact_and_the_common_slip():
    z = [sp.Integer(1), sp.Integer(2), sp.Rational(1, 2)]
    exact = [sp.exp(zi) / sum(sp.exp(zj) for zj in z) for zi in z]
    assert sp.simplify(sum(exact) - 1) == 0
    ours = xent.softmax([1.0, 2.0, 0.5])
    np.testing.assert_allclose(ours, [float(e) for e in exact], rtol=1e-15)
    np.testing.assert_allclose(ours, [0.231, 0.629, 0.140], atol=5e-4)
    # a common slip prints [0.245, 0.665, 0.090]: it is not the softmax of [1, 2, 0.5]
    assert not np.allclose(ours, [0.245, 0.665, 0.090], atol=5e-3)
    # loss for true class 0 is −log σ_0 ≈ 1.464 (not 1.38)
    loss = -sp.log(exact[0])
    assert abs(float(loss) - 1.464) < 5e-4
    np.testing.assert_allclose(-xent.log_softmax([1.0, 2.0, 0.5])[0], float(loss), rtol=1e-15)


def test_logsumexp_and_log_softmax_exact():
    z = [sp.Integer(0), sp.Integer(1), sp.Integer(3)]
    lse = sp.log(sum(sp.exp(v) for v in z))
    np.testing.assert_allclose(xent.logsumexp([0.0, 1.0, 3.0]), float(lse), rtol=1e-15)
    np.testing.assert_allclose(xent.log_softmax([0.0, 1.0, 3.0]), [float(v - lse) for v in z], rtol=1e-15, atol=1e-16)


def test_softmax_jacobian_symbolic_c3():
    z = sp.symbols("z0:3", real=True)
    den = sum(sp.exp(v) for v in z)
    a = [sp.exp(v) / den for v in z]
    J = sp.Matrix(3, 3, lambda i, j: sp.diff(a[i], z[j]))
    closed = sp.diag(*a) - sp.Matrix(a) * sp.Matrix(a).T
    assert sp.simplify(J - closed) == sp.zeros(3, 3)
    point = {z[0]: 0.3, z[1]: -1.2, z[2]: 2.0}
    ref = np.array(J.subs(point).evalf(), dtype=float)
    np.testing.assert_allclose(xent.softmax_jacobian([0.3, -1.2, 2.0]), ref, rtol=1e-13, atol=1e-15)


def test_two_class_softmax_is_sigmoid_symbolic_and_numeric():
    z0, z1 = sp.symbols("z0 z1", real=True)
    a0 = sp.exp(z0) / (sp.exp(z0) + sp.exp(z1))
    assert sp.simplify(a0 - 1 / (1 + sp.exp(-(z0 - z1)))) == 0
    z = rand((10, 2), seed=7)
    np.testing.assert_allclose(xent.softmax(z)[:, 0], xent.sigmoid(z[:, 0] - z[:, 1]), **TOL)
    np.testing.assert_allclose(xent.log_softmax(z)[:, 0], xent.log_sigmoid(z[:, 0] - z[:, 1]), **TOL)


def test_sigmoid_exact_values():
    assert xent.sigmoid(0.0) == 0.5
    np.testing.assert_allclose(xent.sigmoid(2.0), float(1 / (1 + sp.exp(-2))), rtol=1e-15)
    np.testing.assert_allclose(xent.log_sigmoid(0.0), -np.log(2.0), rtol=1e-15)


# --------------------------------------------------------------------------- properties


@pytest.mark.parametrize("seed", range(3))
def test_softmax_is_a_distribution_and_preserves_order(seed):
    z = rand((8, 11), seed=seed)
    a = xent.softmax(z)
    assert np.all(a > 0) and np.all(a < 1)
    np.testing.assert_allclose(a.sum(axis=-1), 1.0, rtol=0, atol=1e-15)
    assert np.array_equal(np.argsort(z, axis=-1), np.argsort(a, axis=-1))


@pytest.mark.parametrize("shift", [-1e4, -3.5, 0.0, 1.0, 700.0, 1e4])
def test_shift_invariance(shift):
    z = rand((5, 6), seed=8)
    np.testing.assert_allclose(xent.softmax(z + shift), xent.softmax(z), rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(xent.log_softmax(z + shift), xent.log_softmax(z), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(xent.logsumexp(z + shift), xent.logsumexp(z) + shift, rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("C", [1, 2, 5, 100])
def test_logsumexp_bounds(C):
    z = rand((20, C), seed=9)
    lse, m = xent.logsumexp(z), z.max(axis=-1)
    assert np.all(m <= lse) and np.all(lse <= m + np.log(C) + 1e-12)
    # the upper bound is attained by equal logits, the lower one by a single class
    np.testing.assert_allclose(xent.logsumexp(np.full(C, 2.5)), 2.5 + np.log(C), rtol=1e-15)


def test_log_softmax_is_log_of_softmax():
    z = rand((4, 9), seed=10)
    np.testing.assert_allclose(xent.log_softmax(z), np.log(xent.softmax(z)), rtol=1e-12)
    np.testing.assert_allclose(np.exp(xent.log_softmax(z)), xent.softmax(z), rtol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_jacobian_symmetric_rows_sum_to_zero_singular_psd(seed):
    z = rand((4, 6), seed=seed)
    J = xent.softmax_jacobian(z)
    a = xent.softmax(z)
    np.testing.assert_allclose(J, np.swapaxes(J, -1, -2), rtol=0, atol=1e-16)
    np.testing.assert_allclose(J.sum(axis=-1), 0.0, atol=1e-15)
    np.testing.assert_allclose(np.diagonal(J, axis1=-2, axis2=-1), a * (1 - a), **TOL)
    eig = np.linalg.eigvalsh(J)  # ascending
    assert np.all(eig >= -1e-15)  # positive semi-definite
    assert np.all(np.abs(eig[..., 0]) < 1e-15)  # singular: the all-ones vector is in the kernel


def test_sigmoid_symmetry_and_range():
    z = np.concatenate([rand((50,), seed=11, scale=20.0), [0.0, 40.0, -40.0]])
    np.testing.assert_allclose(xent.sigmoid(-z), 1 - xent.sigmoid(z), rtol=1e-12, atol=1e-15)  # 1 − σ cancels
    np.testing.assert_allclose(xent.log_sigmoid(z) - xent.log_sigmoid(-z), z, rtol=1e-12, atol=1e-13)
    s = xent.sigmoid(z)
    assert np.all((s >= 0) & (s <= 1))


# --------------------------------------------------------------------------- extreme inputs

EXTREMES = [
    [1e4, -1e4],
    [-1e4, -1e4 + 1.0, -1e4 - 2.0],
    [1e4, 1e4, -3.0],
    [0.0, -800.0],
    [800.0, 0.0, -800.0, 3.0],
    [-1000.0, 1000.0, 0.5, -0.5],
]


@pytest.mark.parametrize("z", EXTREMES, ids=lambda z: str(z[:2]))
def test_extreme_logits_are_finite_and_match_torch(z):
    z = np.asarray(z)
    atol = 4 * np.finfo(float).eps * np.abs(z).max()  # z_i − LSE(z) is exact only to eps·|z|
    for ours, ref in [
        (xent.softmax(z), torch.softmax(t64(z), -1)),
        (xent.log_softmax(z), torch.log_softmax(t64(z), -1)),
        (xent.logsumexp(z), torch.logsumexp(t64(z), -1)),
        (xent.sigmoid(z), torch.sigmoid(t64(z))),
        (xent.log_sigmoid(z), F.logsigmoid(t64(z))),
        (xent.softmax_jacobian(z), torch.autograd.functional.jacobian(lambda v: torch.softmax(v, -1), t64(z))),
    ]:
        assert np.all(np.isfinite(ours))
        np.testing.assert_allclose(ours, ref.numpy(), rtol=1e-12, atol=atol)
    np.testing.assert_allclose(xent.softmax(z).sum(), 1.0, rtol=1e-15)


def test_extreme_exact_values():
    np.testing.assert_array_equal(xent.softmax([1e4, -1e4]), [1.0, 0.0])
    assert xent.logsumexp([1e4, -1e4]) == 1e4
    assert xent.log_softmax([0.0, -800.0])[1] == -800.0
    assert xent.log_sigmoid(-1e4) == -1e4 and xent.log_sigmoid(1e4) == 0.0
    assert xent.sigmoid(1e4) == 1.0 and xent.sigmoid(-1e4) == 0.0
    # σ(−700) = e^−700 / (1 + e^−700) ≈ 1e−304 is still a normal float64 and must not be lost
    assert xent.sigmoid(-700.0) > 0
    np.testing.assert_allclose(np.log(xent.sigmoid(-700.0)), xent.log_sigmoid(-700.0), rtol=1e-12)


def test_naive_softmax_overflows_but_xent_does_not():
    z = np.array([1000.0, 999.0])
    with np.errstate(over="ignore", invalid="ignore"):
        naive = np.exp(z) / np.exp(z).sum()
    assert np.all(np.isnan(naive))
    np.testing.assert_allclose(xent.softmax(z), [1 / (1 + np.exp(-1.0)), 1 / (1 + np.exp(1.0))], rtol=1e-15)


def test_huge_number_of_classes():
    C = 10_000
    z = rand((2, C), seed=12, scale=50.0)
    z[0, 17] = 1e4
    for ours, ref in [
        (xent.softmax(z), torch.softmax(t64(z), -1)),
        (xent.log_softmax(z), torch.log_softmax(t64(z), -1)),
        (xent.logsumexp(z), torch.logsumexp(t64(z), -1)),
    ]:
        assert np.all(np.isfinite(ours))
        np.testing.assert_allclose(ours, ref.numpy(), rtol=1e-12, atol=4 * np.finfo(float).eps * 1e4)
    np.testing.assert_allclose(xent.softmax(z).sum(axis=-1), 1.0, rtol=1e-13)
    g = rand((2, C), seed=13)
    zt = t64(z).requires_grad_()
    torch.softmax(zt, -1).backward(t64(g))
    np.testing.assert_allclose(xent.softmax_vjp(z, g), zt.grad.numpy(), rtol=1e-10, atol=1e-14)


# --------------------------------------------------------------------------- dtypes

FUNCS = {
    "softmax": lambda z: xent.softmax(z),
    "log_softmax": lambda z: xent.log_softmax(z),
    "logsumexp": lambda z: xent.logsumexp(z),
    "sigmoid": lambda z: xent.sigmoid(z),
    "log_sigmoid": lambda z: xent.log_sigmoid(z),
    "softmax_jacobian": lambda z: xent.softmax_jacobian(z),
    "softmax_vjp": lambda z: xent.softmax_vjp(z, np.linspace(-1, 1, z.size).reshape(z.shape).astype(z.dtype)),
}


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("z", [rand((3, 5), seed=14), np.array([1e4, -1e4, 0.0]), np.array([0.0, -80.0])],
                         ids=["random", "extreme", "moderate"])
def test_float32_in_float32_out_and_close_to_float64(name, z):
    out32 = FUNCS[name](z.astype(np.float32))
    out64 = FUNCS[name](z)
    assert out32.dtype == np.float32
    assert out64.dtype == np.float64
    assert np.all(np.isfinite(out32))
    np.testing.assert_allclose(out32, out64, rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("name", FUNCS)
def test_integer_input_becomes_float64(name):
    out = FUNCS[name](np.array([1, 2, 0]))
    assert out.dtype == np.float64


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_logits_raise(name, bad):
    with pytest.raises(ValueError, match=r"^z: "):
        FUNCS[name](np.array([0.0, bad, 1.0]))


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp", "softmax_jacobian"])
@pytest.mark.parametrize("z", [np.float64(1.0), np.zeros((3, 0))], ids=["scalar", "empty"])
def test_no_class_axis_raises(name, z):
    with pytest.raises(ValueError, match=r"^z: "):
        FUNCS[name](z)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("z", [np.array(["a", "b"]), np.array([True, False]), np.array([1 + 2j, 0j])],
                         ids=["str", "bool", "complex"])
def test_non_real_input_raises(name, z):
    with pytest.raises(ValueError, match=r"^z: "):
        FUNCS[name](z)


def test_softmax_vjp_rejects_bad_g():
    with pytest.raises(ValueError, match=r"^g: "):
        xent.softmax_vjp(np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"^g: "):
        xent.softmax_vjp(np.zeros(3), [0.0, np.nan, 1.0])


# --------------------------------------------------------------------------- coverage of the API


def test_every_public_name_is_tested():
    """Each name in xent.__all__ is called (or, for a class, named) in at least one tests/test_xent_*.py file."""
    here = pathlib.Path(__file__).resolve().parent
    text = "".join(f.read_text() for f in sorted(here.glob("test_xent_*.py")))
    untested = [name for name in xent.__all__ if not re.search(rf"xent\.{name}\(", text)]
    assert not untested, f"public xent functions with no test: {untested}"


# --------------------------------------------------------------------------- accuracy: a 50-digit reference
#
# Every result is compared with mpmath at 50 significant digits, computed from the exact values of the
# (float32 or float64) inputs. The error is counted in ulps of the result's dtype, and must be at most
# 4 + 2·κ, with κ the relative condition number of the function at that input (derived in chapter 12):
# a backward-stable algorithm with a backward error of one rounding is within about 2κ ulps, plus a few
# ulps for the last roundings and exp/log. The reference is computed once per input family.

mp.mp.dps = 50


def ulp_error(x, ref, dtype):
    """|x − ref| in ulps of dtype at ref (the spacing of the float nearest ref; subnormal spacing near 0)."""
    x = np.asarray(x, dtype=np.float64).ravel()
    out = np.empty(x.size)
    for i, (xi, ri) in enumerate(zip(x, np.ravel(ref))):
        spacing = float(np.spacing(np.abs(dtype(float(ri)))))
        out[i] = float(abs(mp.mpf(float(xi)) - ri) / spacing)
    return out.reshape(np.shape(ref))


def families(dtype):
    """Input families (name → (M, C) logits in dtype): random of scale 1e-3 … 1e4, near-ties, one dominant
    logit, many classes, and the rows where a tail is otherwise rounded away."""
    rng = np.random.default_rng(42)
    out = {f"scale {s:g}": rng.normal(scale=s, size=(12, 9)) for s in (1e-3, 1.0, 10.0, 100.0, 1e4)}
    out["near ties"] = 3.0 + 1e-4 * rng.normal(size=(12, 8))
    dom = rng.normal(size=(16, 9))
    dom[np.arange(16), np.arange(16) % 9] += np.repeat([8.0, 20.0, 40.0, 100.0], 4)
    out["one dominant"] = dom
    out["many classes"] = rng.normal(scale=3.0, size=(3, 1000))
    out["tails"] = np.array([[0.0, -40.0, -40.0], [1e4, 1e4 - 12, -1e4], [0.0, -17.0, -800.0],
                             [-5.0, -5.0, -45.0], [30.0, 0.0, -30.0]])
    return {k: v.astype(dtype) for k, v in out.items()}


@functools.lru_cache(maxsize=None)
def reference(dtype_name, family):
    """Exact (50-digit) LSE, log-softmax and softmax of a family's rows, and their condition numbers."""
    z = families(np.dtype(dtype_name).type)[family]
    M, C = z.shape
    zm = [[mp.mpf(float(v)) for v in row] for row in z]
    logsm, lse = [], []
    for row in zm:  # log a_i = (z_i − m) − log1p(Σ_{j≠k} e^{z_j − m}): exact in 50 digits even when the tail is 1e-4000
        k = max(range(C), key=lambda i: row[i])
        tail = mp.log1p(mp.fsum(mp.exp(v - row[k]) for i, v in enumerate(row) if i != k))
        logsm.append([(v - row[k]) - tail for v in row])
        lse.append(row[k] + tail)
    a = [[mp.exp(v) for v in row] for row in logsm]
    # κ(LSE) = Σ_j |z_j| a_j / |LSE|; κ(softmax_i) = |z_i|(1 − a_i) + Σ_{j≠i} |z_j| a_j; κ(log a_i) = that / |log a_i|
    k_sm = []
    for row, ar in zip(zm, a):  # Σ_{j≠i} |z_j| a_j and 1 − a_i without cancellation at the argmax (a_k ≈ 1)
        k = max(range(C), key=lambda i: row[i])
        za = mp.fsum(abs(v) * p for v, p in zip(row, ar))
        za_not_k = mp.fsum(abs(v) * p for j, (v, p) in enumerate(zip(row, ar)) if j != k)
        one_minus_ak = mp.fsum(p for j, p in enumerate(ar) if j != k)
        k_sm.append([abs(row[i]) * one_minus_ak + za_not_k if i == k else abs(row[i]) * (1 - ar[i]) + za - abs(row[i]) * ar[i]
                     for i in range(C)])
    za = [mp.fsum(abs(v) * p for v, p in zip(row, ar)) for row, ar in zip(zm, a)]
    k_lse = [za[n] / abs(lse[n]) if lse[n] != 0 else mp.inf for n in range(M)]
    k_logsm = [[k_sm[n][i] / abs(logsm[n][i]) for i in range(C)] for n in range(M)]
    to = lambda x: np.array([[float(v) for v in row] for row in x]) if isinstance(x[0], list) else np.array([float(v) for v in x])
    return dict(z=z, lse=lse, logsm=logsm, a=a, k_lse=to(k_lse), k_sm=to(k_sm), k_logsm=to(k_logsm))


def assert_ulps(ours, ref, kappa, dtype, what):
    err = ulp_error(ours, ref, dtype)
    bound = 4 + 2 * np.asarray(kappa)
    worst = np.unravel_index(np.argmax(err - bound), err.shape)
    assert np.all(err <= bound), f"{what}: {err[worst]:.1f} ulps where the bound is {bound[worst]:.1f}"


DTYPES = [np.float64, np.float32]
FAMILIES = list(families(np.float64))


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_logsumexp_within_a_few_ulps_of_50_digits(dtype, family):
    ref = reference(np.dtype(dtype).name, family)
    out = xent.logsumexp(ref["z"])
    assert out.dtype == dtype
    assert_ulps(out, np.array(ref["lse"], dtype=object), ref["k_lse"], dtype, "logsumexp")


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_softmax_within_a_few_ulps_of_50_digits(dtype, family):
    ref = reference(np.dtype(dtype).name, family)
    assert_ulps(xent.softmax(ref["z"]), np.array(ref["a"], dtype=object), ref["k_sm"], dtype, "softmax")
    # along another axis, the same numbers
    np.testing.assert_array_equal(xent.softmax(ref["z"].T, axis=0), xent.softmax(ref["z"]).T)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_log_softmax_within_a_few_ulps_of_50_digits(dtype, family):
    ref = reference(np.dtype(dtype).name, family)
    assert_ulps(xent.log_softmax(ref["z"]), np.array(ref["logsm"], dtype=object), ref["k_logsm"], dtype,
                "log_softmax")
    np.testing.assert_array_equal(xent.log_softmax(ref["z"].T, axis=0), xent.log_softmax(ref["z"]).T)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_sigmoid_and_log_sigmoid_within_a_few_ulps_of_50_digits(dtype):
    z = np.concatenate([np.random.default_rng(5).normal(scale=s, size=40) for s in (1e-3, 1, 10, 100, 1e4)]
                       + [np.array([0.0, -2.06, 40.0, -40.0, 88.0, -88.0, 700.0, -700.0])]).astype(dtype)
    zm = [mp.mpf(float(v)) for v in z]
    sig = np.array([1 / (1 + mp.exp(-v)) for v in zm], dtype=object)
    logsig = np.array([-mp.log1p(mp.exp(-v)) for v in zm], dtype=object)
    k_sig = np.array([float(abs(v) / (1 + mp.exp(v))) for v in zm])  # |z| σ(−z)
    k_logsig = np.array([float(abs(v) / (1 + mp.exp(v)) / abs(ls)) for v, ls in zip(zm, logsig)])
    assert_ulps(xent.sigmoid(z), sig, k_sig, dtype, "sigmoid")
    assert_ulps(xent.log_sigmoid(z), logsig, k_logsig, dtype, "log_sigmoid")


def test_small_tails_are_not_rounded_away():
    """LSE([0, −40]) = log1p(e^−40) ≈ 4.25e-18, not 0; the top log-softmax entry is −4.25e-18, not 0."""
    tail = float(mp.log1p(mp.exp(-40)))
    assert xent.logsumexp([0.0, -40.0]) == pytest.approx(tail, rel=1e-15)
    assert xent.log_softmax([0.0, -40.0])[0] == pytest.approx(-tail, rel=1e-15)
    np.testing.assert_allclose(xent.logsumexp(np.array([0.0, -40.0], dtype=np.float32)), tail, rtol=1e-6)
    # torch rounds the tail away (the defect fixed here)
    assert torch.logsumexp(t64([0.0, -40.0]), 0).item() == 0.0


def test_log_softmax_near_zero_entry_float32():
    """z − LSE(z) would give exactly 0 here in float32; the true value is −log(1 + e^−12)."""
    z = np.array([1e4, 1e4 - 12], dtype=np.float32)
    out = xent.log_softmax(z)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[0], -np.log1p(np.exp(-12.0)), rtol=2e-7)


# --------------------------------------------------------------------------- float16: computed in float32, rounded once

F16_FUNCS = ["softmax", "log_softmax", "logsumexp", "sigmoid", "log_sigmoid", "softmax_jacobian"]


@pytest.mark.parametrize("name", F16_FUNCS)
def test_float16_is_float32_rounded_once(name):
    z = np.random.default_rng(6).normal(scale=4.0, size=(6, 7)).astype(np.float16)
    out = FUNCS[name](z)
    assert out.dtype == np.float16
    np.testing.assert_array_equal(out, FUNCS[name](z.astype(np.float32)).astype(np.float16))


def test_float16_sigmoid_is_correctly_rounded_at_minus_2_06():
    z = np.float16(-2.06)
    exact = 1 / (1 + mp.exp(-mp.mpf(float(z))))
    assert ulp_error(xent.sigmoid(np.array(z)), np.array(exact, dtype=object), np.float16) <= 0.5


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
def test_float16_within_half_an_ulp_plus_float32_error(name):
    ref = reference("float64", "scale 1")
    z16 = ref["z"].astype(np.float16)
    r16 = {
        "softmax": lambda z: xent.softmax(z), "log_softmax": lambda z: xent.log_softmax(z),
        "logsumexp": lambda z: xent.logsumexp(z),
    }[name]
    zm = [[mp.mpf(float(v)) for v in row] for row in z16]
    lse = [mp.log(mp.fsum(mp.exp(v) for v in row)) for row in zm]  # scale-1 logits: no tail below 1e-50
    exact = {"logsumexp": lse, "log_softmax": [[v - l for v in row] for row, l in zip(zm, lse)],
             "softmax": [[mp.exp(v - l) for v in row] for row, l in zip(zm, lse)]}[name]
    err = ulp_error(r16(z16), np.array(exact, dtype=object), np.float16)
    assert err.max() <= 0.5 + 0.01  # one rounding to float16 of a float32 result good to a few float32 ulps


# --------------------------------------------------------------------------- arguments named exactly; float32 in float32


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp", "softmax_jacobian", "softmax_vjp"])
def test_class_axis_errors_name_z(name):
    for z in (np.float64(1.0), np.zeros((2, 0))):
        with pytest.raises(ValueError, match=r"^z: "):
            FUNCS[name](z)


def test_keepdims_must_be_a_bool():
    for bad in ("yes", 1, None):
        with pytest.raises(ValueError, match=r"^keepdims: "):
            xent.logsumexp(np.zeros(3), keepdims=bad)
    assert xent.logsumexp(np.zeros((2, 3)), keepdims=np.bool_(True)).shape == (2, 1)


def test_logits_near_the_float_max_do_not_warn():
    """z − m overflows to −inf for logits of opposite sign near 1.8e308; exp gives 0, and nothing warns."""
    z = np.array([1.7e308, -1.7e308, 1.0])
    np.testing.assert_array_equal(xent.softmax(z), [1.0, 0.0, 0.0])
    assert xent.logsumexp(z) == 1.7e308
    assert xent.log_softmax(z)[0] == 0.0 and xent.log_softmax(z)[1] == -np.inf
    z32 = np.array([3e38, -3e38], dtype=np.float32)
    np.testing.assert_array_equal(xent.softmax(z32), np.array([1.0, 0.0], dtype=np.float32))


def test_float32_is_computed_in_float32():
    """float32 in: every step is float32 arithmetic (bit for bit), not float64 rounded at the end."""
    z = np.random.default_rng(15).normal(scale=5.0, size=(4, 6)).astype(np.float32)
    e = np.exp(-np.abs(z))
    np.testing.assert_array_equal(xent.sigmoid(z), np.where(z >= 0, np.float32(1), e) / (np.float32(1) + e))
    np.testing.assert_array_equal(xent.log_sigmoid(z), -(np.maximum(-z, np.float32(0)) + np.log1p(e)))
    rows = np.arange(4)
    k = z.argmax(axis=1)
    d = z - z[rows, k][:, None]
    ex = np.exp(d)
    ex[rows, k] = 0
    r = ex.sum(axis=1)
    ex[rows, k] = 1
    a = ex / (np.float32(1) + r)[:, None]
    np.testing.assert_array_equal(xent.softmax(z), a)
    np.testing.assert_array_equal(xent.log_softmax(z), d - np.log1p(r)[:, None])
    np.testing.assert_array_equal(xent.logsumexp(z), z[rows, k] + np.log1p(r))
    eye = np.eye(6, dtype=np.float32)
    np.testing.assert_array_equal(xent.softmax_jacobian(z), a[:, :, None] * (eye - a[:, None, :]))
    g = np.linspace(-1, 1, z.size).reshape(z.shape)  # float64 g is cast to the logits' float32
    g32 = g.astype(np.float32)
    np.testing.assert_array_equal(xent.softmax_vjp(z, g), a * (g32 - np.sum(g32 * a, axis=-1, keepdims=True)))
