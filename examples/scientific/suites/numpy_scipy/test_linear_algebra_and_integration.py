"""SciPy's numerical routines on NumPy arrays: linear algebra, integration, optimisation."""

import numpy as np
from scipy import integrate, linalg, optimize, sparse


def test_solve_and_decompose_agree_with_numpy():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(6, 6)) + 6 * np.eye(6)
    b = rng.normal(size=6)
    x = linalg.solve(a, b)
    np.testing.assert_allclose(a @ x, b, atol=1e-10)
    q, r = linalg.qr(a)
    np.testing.assert_allclose(q @ r, a, atol=1e-10)
    np.testing.assert_allclose(linalg.det(a), np.linalg.det(a), rtol=1e-10)


def test_quadrature_of_a_numpy_ufunc():
    value, error = integrate.quad(np.sin, 0.0, np.pi)
    assert abs(value - 2.0) < 1e-10 and error < 1e-8
    xs = np.linspace(0.0, 1.0, 101)
    assert abs(integrate.trapezoid(xs**2, xs) - 1 / 3) < 1e-4


def test_minimise_a_vectorised_function():
    result = optimize.minimize(lambda v: np.sum((v - np.array([1.0, -2.0])) ** 2), x0=np.zeros(2))
    assert result.success
    np.testing.assert_allclose(result.x, [1.0, -2.0], atol=1e-5)


def test_sparse_matrix_times_dense_vector():
    matrix = sparse.diags([1.0, 2.0, 3.0]).tocsr()
    np.testing.assert_array_equal(matrix @ np.ones(3), [1.0, 2.0, 3.0])
