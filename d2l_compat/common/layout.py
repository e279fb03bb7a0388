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
