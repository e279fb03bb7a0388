"""Where the channel axis goes, and how each framework lays out its kernels, decided once."""
import numpy as np

CHANNELS_LAST = {"tensorflow"}  # Keras convolutions default to NHWC; the others are NCHW


def layout_of(framework):
    """Return 'NHWC' or 'NCHW', the layout of image batches for `framework`."""
    return "NHWC" if framework in CHANNELS_LAST else "NCHW"


def add_channel_axis(images, framework):
    """Turn (N, H, W) images into the framework's 4-D layout with one channel."""
    return images[..., None] if layout_of(framework) == "NHWC" else images[:, None]


def from_nchw(images, framework):
    """Turn an NCHW array into `framework`'s layout (NHWC for TensorFlow)."""
    return images.transpose(0, 2, 3, 1) if layout_of(framework) == "NHWC" else images


def to_nchw(images, framework):
    """Turn an array in `framework`'s layout back into NCHW."""
    return images.transpose(0, 3, 1, 2) if layout_of(framework) == "NHWC" else images


def nchw_shape(shape, framework):
    """State a 4-D shape of `framework`'s layout in NCHW terms, e.g. for comparing frameworks."""
    shape = tuple(int(d) for d in shape)
    if len(shape) != 4:
        raise ValueError(f"expected a 4-D image shape, got {shape}")
    if layout_of(framework) == "NHWC":
        n, h, w, c = shape
        return (n, c, h, w)
    return shape


def nchw_shape_for(framework):
    """The public `nchw_shape(shape)` of one framework module."""
    def nchw_shape_(shape):
        """State a 4-D shape of this framework's layout in NCHW terms."""
        return nchw_shape(shape, framework)
    nchw_shape_.__name__ = nchw_shape_.__qualname__ = "nchw_shape"
    return nchw_shape_


# Weight tensors. The canonical layout (the shared weight file's) is PyTorch's: convolution kernels
# OIHW, dense kernels (out, in). A framework listed here stores a kind of kernel otherwise:
# kind -> framework -> axis order of its own tensor, as indices into the canonical axes.
WEIGHT_AXES = {
    "conv": {"tensorflow": (2, 3, 1, 0)},             # Keras kernels are HWIO
    "dense": {"tensorflow": (1, 0), "paddle": (1, 0)},  # Keras' and Paddle's dense kernels are (in, out)
}


def weight_to_framework(kind, array, framework):
    """Turn a canonical kernel of `kind` ('conv', 'dense'; others pass unchanged) into `framework`'s layout."""
    axes = WEIGHT_AXES.get(kind, {}).get(framework)
    return array if axes is None else array.transpose(axes)


def weight_from_framework(kind, array, framework):
    """Turn `framework`'s kernel of `kind` back into the canonical layout (OIHW, dense (out, in))."""
    axes = WEIGHT_AXES.get(kind, {}).get(framework)
    return array if axes is None else array.transpose(np.argsort(axes))
