"""scikit-image filters and PyWavelets transforms on NumPy images."""

import numpy as np
import pywt
from skimage import data, filters, measure, restoration, transform
from skimage.util import img_as_float, random_noise


def test_wavelet_denoising_reduces_the_error():
    image = img_as_float(data.camera()[::4, ::4])
    noisy = random_noise(image, var=0.01, rng=0)
    denoised = restoration.denoise_wavelet(noisy, wavelet="db1", rescale_sigma=True)
    assert np.mean((denoised - image) ** 2) < np.mean((noisy - image) ** 2)


def test_pywt_round_trip():
    image = np.arange(64.0).reshape(8, 8)
    coefficients = pywt.wavedec2(image, "haar", level=2)
    np.testing.assert_allclose(pywt.waverec2(coefficients, "haar"), image, atol=1e-10)


def test_threshold_and_label():
    image = np.zeros((20, 20))
    image[2:6, 2:6] = 1.0
    image[10:15, 12:18] = 1.0
    mask = image > filters.threshold_otsu(image)
    labels = measure.label(mask)
    assert labels.max() == 2


def test_resize_keeps_the_range():
    image = img_as_float(data.checkerboard())
    small = transform.resize(image, (50, 50), anti_aliasing=True)
    assert small.shape == (50, 50) and small.min() >= 0.0 and small.max() <= 1.0
