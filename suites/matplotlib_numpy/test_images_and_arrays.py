"""matplotlib consuming NumPy arrays: images, colormaps, masked data, round-trips."""

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np


def teardown_function():
    plt.close("all")


def test_png_round_trip_preserves_pixels():
    pixels = np.zeros((8, 8, 3), dtype=np.float32)
    pixels[2:6, 2:6, 0] = 1.0
    buffer = io.BytesIO()
    plt.imsave(buffer, pixels, format="png")
    buffer.seek(0)
    back = mpimg.imread(buffer, format="png")
    assert back.shape[:2] == (8, 8)
    np.testing.assert_allclose(back[..., :3], pixels, atol=1 / 255)


def test_colormap_maps_arrays_to_rgba():
    cmap = matplotlib.colormaps["viridis"]
    colors = cmap(np.linspace(0, 1, 5))
    assert colors.shape == (5, 4)
    assert np.all((colors >= 0) & (colors <= 1))


def test_masked_values_are_not_drawn():
    data = np.ma.masked_invalid(np.array([1.0, np.nan, 3.0]))
    fig, ax = plt.subplots()
    (line,) = ax.plot(data)
    fig.canvas.draw()
    assert np.ma.is_masked(line.get_ydata()) or np.isnan(np.asarray(line.get_ydata(), dtype=float)[1])


def test_imshow_and_contour_accept_numpy_grids():
    x, y = np.meshgrid(np.linspace(-2, 2, 50), np.linspace(-2, 2, 50))
    z = np.exp(-(x**2 + y**2))
    fig, ax = plt.subplots()
    image = ax.imshow(z)
    contours = ax.contour(x, y, z, levels=5)
    fig.canvas.draw()
    assert image.get_array().shape == (50, 50)
    assert len(contours.levels) >= 5
    rgba = np.asarray(fig.canvas.buffer_rgba())
    assert rgba.ndim == 3 and rgba.shape[2] == 4
