"""numba-compiled functions over NumPy arrays."""

import numba
import numpy as np


@numba.njit(cache=False)
def _cumulative(values):
    out = np.empty_like(values)
    total = 0.0
    for i in range(values.shape[0]):
        total += values[i]
        out[i] = total
    return out


@numba.vectorize(["float64(float64, float64)"])
def _hypot(a, b):
    return (a * a + b * b) ** 0.5


def test_njit_loop_matches_cumsum():
    values = np.random.default_rng(0).normal(size=100)
    np.testing.assert_allclose(_cumulative(values), np.cumsum(values))


def test_vectorised_ufunc_broadcasts():
    np.testing.assert_allclose(_hypot(np.array([3.0, 5.0]), 4.0), [5.0, np.hypot(5.0, 4.0)])


def test_parallel_range_reduces():
    @numba.njit(parallel=True)
    def total(values):
        acc = 0.0
        for i in numba.prange(values.shape[0]):
            acc += values[i]
        return acc

    assert total(np.arange(1000.0)) == sum(range(1000))
