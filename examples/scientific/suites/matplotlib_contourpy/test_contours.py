"""matplotlib's contours, computed by contourpy."""

import matplotlib

matplotlib.use("Agg")

import contourpy
import matplotlib.pyplot as plt
import numpy as np


def _field():
    x, y = np.meshgrid(np.linspace(-2, 2, 41), np.linspace(-2, 2, 41))
    return x, y, np.exp(-(x**2 + y**2))


def test_contourpy_lines_are_closed_circles():
    x, y, z = _field()
    generator = contourpy.contour_generator(x, y, z)
    lines = generator.lines(0.5)
    assert len(lines) == 1
    radius = np.hypot(lines[0][:, 0], lines[0][:, 1])
    np.testing.assert_allclose(radius, np.sqrt(np.log(2.0)), atol=0.02)


def test_matplotlib_contour_levels():
    x, y, z = _field()
    fig, ax = plt.subplots()
    contour = ax.contourf(x, y, z, levels=[0.1, 0.5, 0.9])
    assert list(contour.levels) == [0.1, 0.5, 0.9]
    plt.close(fig)


def test_filled_contours_from_contourpy():
    x, y, z = _field()
    filled = contourpy.contour_generator(x, y, z, fill_type="OuterCode").filled(0.5, 2.0)
    points, codes = filled
    assert len(points) == len(codes) == 1
