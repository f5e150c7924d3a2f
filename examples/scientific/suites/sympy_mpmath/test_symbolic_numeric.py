"""SymPy expressions evaluated with mpmath's precision and NumPy's arrays."""

import mpmath
import numpy as np
import sympy as sp


def test_lambdify_to_numpy_matches_evaluation():
    x = sp.symbols("x")
    expression = sp.sin(x) ** 2 + sp.cos(x) ** 2 + sp.exp(-x)
    function = sp.lambdify(x, expression, modules="numpy")
    points = np.linspace(0.0, 2.0, 5)
    np.testing.assert_allclose(function(points), 1.0 + np.exp(-points))


def test_high_precision_evaluation_through_mpmath():
    value = sp.N(sp.pi, 50)
    with mpmath.workdps(60):
        assert abs(mpmath.mpf(str(value)) - mpmath.pi) < mpmath.mpf(10) ** -48


def test_symbolic_integral_and_derivative():
    x = sp.symbols("x")
    assert sp.integrate(x * sp.exp(x), x).diff(x).simplify() == x * sp.exp(x)
    assert sp.limit(sp.sin(x) / x, x, 0) == 1


def test_mpmath_quadrature_agrees_with_sympy():
    x = sp.symbols("x")
    exact = sp.integrate(sp.exp(-(x**2)), (x, -sp.oo, sp.oo))
    assert abs(float(exact) - float(mpmath.quad(lambda t: mpmath.exp(-(t**2)), [-mpmath.inf, mpmath.inf]))) < 1e-12
