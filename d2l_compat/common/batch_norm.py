"""What a batch-norm layer really does, measured by running it: epsilon, momentum, kept variance.

Each framework documents these its own way (Keras' momentum 0.99 is MXNet's 0.9 read from the
other end); two forward passes on a fixed batch settle them in one convention, PyTorch's:
new running statistic = (1 - momentum) * old + momentum * batch statistic.
"""
import numpy as np

CHANNELS = 2


def probe_batch():
    """A fixed NCHW float32 batch, 36 values a channel, with means and spreads far from 0 and 1."""
    x = np.random.default_rng(0).normal(0, 1, (4, CHANNELS, 3, 3))
    return (x * np.array([0.5, 2.0])[:, None, None] + np.array([2.0, -3.0])[:, None, None]).astype(np.float32)


def _nearest(value, candidates):
    return min(candidates, key=lambda name: float(np.abs(value - candidates[name]).max()))


def measure(forward, handles, read, write):
    """Return {'epsilon', 'momentum', 'running_var', 'normalises_with'} of one batch-norm layer.

    `forward(x, training)` runs the layer on an NCHW batch and returns its NCHW output;
    `handles()` gives its (gamma, beta, running mean, running variance), which `read` turns into
    NumPy and `write(handle, array)` sets. The layer's values are restored afterwards.
    'running_var' and 'normalises_with' say which batch variance is used: 'biased' (divided by n)
    or 'unbiased' (by n - 1).
    """
    x = probe_batch()
    forward(x, False)  # Keras and Gluon create a layer's weights at its first call
    saved = [read(h) for h in handles()]
    ones, zeros = np.ones(CHANNELS, np.float32), np.zeros(CHANNELS, np.float32)
    n = x.size // CHANNELS
    mean = x.mean(axis=(0, 2, 3), dtype=np.float64)
    variances = {"biased": x.var(axis=(0, 2, 3), dtype=np.float64)}
    variances["unbiased"] = variances["biased"] * n / (n - 1)
    try:
        for handle, value in zip(handles(), (ones, zeros, zeros, zeros)):
            write(handle, value)
        y = forward(x, False).astype(np.float64)  # running variance 0: the output is x / sqrt(epsilon)
        epsilon = float(np.median((x / y) ** 2))
        for handle, value in zip(handles(), (ones, zeros, zeros, ones)):
            write(handle, value)
        y = forward(x, True).astype(np.float64)
        used = np.median(((x - mean[:, None, None]) / y) ** 2, axis=(0, 2, 3)) - epsilon  # batch variance
        new_mean, new_var = (read(h).astype(np.float64) for h in handles()[2:])
        momentum = new_mean / mean
        kept = (new_var - (1 - momentum)) / momentum
    finally:
        for handle, value in zip(handles(), saved):
            write(handle, value)
    return {"epsilon": float(f"{epsilon:.3g}"), "momentum": float(f"{momentum.mean():.4g}"),
            "running_var": _nearest(kept, variances), "normalises_with": _nearest(used, variances)}


def settings_function(new_layer, forward, handles, read, write):
    """A framework module's batch_norm_settings(layer=None), from `new_layer()` (as the notebook builds
    one), `forward(layer, x, training)` and the `handles(layer)`, `read`, `write` of `measure`."""
    def batch_norm_settings(layer=None):
        """Measure a batch norm's epsilon, momentum (PyTorch's convention) and kept variance by running it.

        `layer` defaults to a new one built as the notebook builds them; its values are restored.
        """
        layer = new_layer() if layer is None else layer
        return measure(lambda x, training: forward(layer, x, training), lambda: handles(layer), read, write)
    return batch_norm_settings
