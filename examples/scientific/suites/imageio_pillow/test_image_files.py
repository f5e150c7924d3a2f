"""imageio reading and writing through Pillow (PNG) and tifffile (TIFF)."""

import imageio.v3 as iio
import numpy as np
import tifffile
from PIL import Image


def _image() -> np.ndarray:
    return (np.arange(48, dtype=np.uint8).reshape(4, 4, 3) * 5).astype(np.uint8)


def test_png_round_trip_through_pillow(tmp_path):
    target = tmp_path / "image.png"
    iio.imwrite(target, _image(), plugin="pillow")
    with Image.open(target) as opened:
        assert opened.size == (4, 4) and opened.mode == "RGB"
    np.testing.assert_array_equal(iio.imread(target, plugin="pillow"), _image())


def test_tiff_round_trip_through_tifffile(tmp_path):
    stack = np.arange(2 * 8 * 8, dtype=np.uint16).reshape(2, 8, 8)
    target = tmp_path / "stack.tif"
    tifffile.imwrite(target, stack)
    np.testing.assert_array_equal(iio.imread(target, plugin="tifffile"), stack)
    np.testing.assert_array_equal(tifffile.imread(target), stack)


def test_pillow_image_to_numpy_and_back():
    image = Image.fromarray(_image())
    grey = np.asarray(image.convert("L"))
    assert grey.shape == (4, 4) and grey.dtype == np.uint8
