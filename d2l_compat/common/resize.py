"""Bilinear resizing of a whole image set at once, with Pillow's BILINEAR weights."""
import numpy as np


def bilinear_matrix(in_size, out_size):
    """Return the (out_size, in_size) matrix that resamples one axis as Pillow's BILINEAR does.

    Pillow uses pixel centres at i + 0.5 and, when shrinking, widens the triangle filter by the
    scale factor (antialiasing); rows are normalised so that a flat image stays flat.
    """
    scale = in_size / out_size
    support = max(scale, 1.0)
    centres = (np.arange(out_size) + 0.5) * scale
    sources = np.arange(in_size) + 0.5
    weights = np.clip(1.0 - np.abs(sources[None, :] - centres[:, None]) / support, 0.0, None)
    return (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)


CHUNK = 4096


def resize_images(images, size, chunk=CHUNK):
    """Resize uint8 images (N, H, W) to (N, size, size) uint8, vectorised, in memory-bounded chunks."""
    n, height, width = images.shape
    if (height, width) == (size, size):
        return images
    rows, cols = bilinear_matrix(height, size), bilinear_matrix(width, size)
    out = np.empty((n, size, size), dtype=np.uint8)
    for start in range(0, n, chunk):
        block = images[start:start + chunk].astype(np.float32)
        resized = rows @ block @ cols.T
        out[start:start + chunk] = np.clip(np.rint(resized), 0, 255)
    return out
