"""Where the channel axis goes, decided once for every framework."""

CHANNELS_LAST = {"tensorflow"}  # Keras convolutions default to NHWC; the others are NCHW


def layout_of(framework):
    """Return 'NHWC' or 'NCHW', the layout of image batches for `framework`."""
    return "NHWC" if framework in CHANNELS_LAST else "NCHW"


def add_channel_axis(images, framework):
    """Turn (N, H, W) images into the framework's 4-D layout with one channel."""
    return images[..., None] if layout_of(framework) == "NHWC" else images[:, None]


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
