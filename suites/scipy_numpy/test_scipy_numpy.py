"""SciPy on NumPy: linear algebra, sparse matrices, statistics, optimisation."""

import numpy as np
from scipy import linalg, optimize, sparse, stats


def test_linear_solve_matches_numpy():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(6, 6)) + 6 * np.eye(6)
    b = rng.normal(size=6)
    np.testing.assert_allclose(linalg.solve(a, b), np.linalg.solve(a, b), rtol=1e-10)


def test_sparse_matrix_products_with_dense_arrays():
    dense = np.array([[0, 2, 0], [1, 0, 0], [0, 0, 3]], dtype=float)
    csr = sparse.csr_array(dense)
    vector = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(csr @ vector, dense @ vector)
    assert csr.nnz == 3
    np.testing.assert_allclose(csr.toarray(), dense)


def test_statistics_on_generated_samples():
    rng = np.random.default_rng(11)
    sample = rng.normal(loc=5.0, scale=2.0, size=2000)
    result = stats.ttest_1samp(sample, 5.0)
    assert result.pvalue > 0.001
    fitted_loc, fitted_scale = stats.norm.fit(sample)
    assert abs(fitted_loc - 5.0) < 0.2 and abs(fitted_scale - 2.0) < 0.2


def test_minimize_rosenbrock():
    result = optimize.minimize(optimize.rosen, np.array([1.3, 0.7, 0.8]), method="BFGS", jac=optimize.rosen_der)
    assert result.success
    np.testing.assert_allclose(result.x, np.ones(3), atol=1e-4)
