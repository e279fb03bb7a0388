"""The vectorised resize agrees with Pillow's BILINEAR, which the book's loaders used."""
import numpy as np
import pytest
from PIL import Image

from d2l_compat.common.resize import bilinear_matrix, resize_images


@pytest.mark.parametrize("size", [96, 224, 14, 20])
def test_matches_pillow_within_rounding(size):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(8, 28, 28), dtype=np.uint8)
    ours = resize_images(images, size)
    pillow = np.stack([np.asarray(Image.fromarray(im).resize((size, size), Image.BILINEAR))
                       for im in images])
    assert ours.shape == (8, size, size) and ours.dtype == np.uint8
    # Pillow rounds after each axis in fixed point; we round once in float: at most 1 apart.
    assert np.abs(ours.astype(int) - pillow.astype(int)).max() <= 1


def test_rows_are_normalised_so_flat_images_stay_flat():
    for n_in, n_out in [(28, 96), (28, 7), (5, 5)]:
        assert np.allclose(bilinear_matrix(n_in, n_out).sum(axis=1), 1.0)
    flat = np.full((3, 28, 28), 77, dtype=np.uint8)
    assert (resize_images(flat, 96) == 77).all()


def test_same_size_is_returned_unchanged():
    images = np.zeros((2, 28, 28), dtype=np.uint8)
    assert resize_images(images, 28) is images


def test_chunking_does_not_change_the_result():
    images = np.random.default_rng(1).integers(0, 256, size=(10, 28, 28), dtype=np.uint8)
    assert np.array_equal(resize_images(images, 40, chunk=3), resize_images(images, 40))
