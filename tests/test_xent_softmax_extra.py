"""Extra tests for xent.log_softmax: accurate for large logits (no cancellation in z − LSE(z))."""

import numpy as np
import pytest
import torch

import xent


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_log_softmax_large_logits_relative_accuracy(dtype):
    """Every entry matches torch.log_softmax to a few ulps, even the near-zero entry at the max."""
    rng = np.random.default_rng(0)
    z = rng.uniform(-1e4, 1e4, size=(200, 7)).astype(dtype)
    z[0] = [1e4, 1e4 - 12, -1e4, 0, 9999, -9999, 5e3]
    ours = xent.log_softmax(z)
    ref = torch.log_softmax(torch.from_numpy(z), dim=-1).numpy()
    assert ours.dtype == dtype
    rel = np.abs(ours - ref) / np.maximum(np.abs(ref), np.finfo(dtype).tiny)
    assert rel.max() <= 4 * np.finfo(dtype).eps


def test_log_softmax_near_zero_entry_float32():
    """z − LSE(z) would give exactly 0 here in float32; the true value is −log(1 + e^−12)."""
    z = np.array([1e4, 1e4 - 12], dtype=np.float32)
    out = xent.log_softmax(z)
    assert out[0] != 0.0
    assert np.isclose(out[0], -np.log1p(np.exp(-12.0)), rtol=1e-2, atol=0)  # float32 log of 1 + 6e-6
