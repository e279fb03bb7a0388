"""The data set kept on the training device: one upload, then every batch gathered and scaled there.

On a GPU the host pipeline (gather, scale and copy every batch) would make the device wait; instead
each framework's train() hands its Batches to `place`, which uploads the uint8 images and the labels
once, and each pass uploads only its order of examples. A framework supplies three small hooks:

- upload(array): a NumPy array as the framework's array on the device;
- take(images, labels, index): one batch (X, y) from the device arrays and a device index array,
  with the same values, dtypes and layout as the host pipeline gives;
- free_bytes(): device memory still free, or None where the framework cannot tell.
"""
import dataclasses
from typing import Callable, Optional

import numpy as np

from .data import Batches

HEADROOM = 4  # the data may take a quarter of the free memory: the rest is the model's and its activations'


@dataclasses.dataclass(frozen=True)
class DeviceHooks:
    """How one framework keeps arrays on one device (see the module docstring)."""
    upload: Callable
    take: Callable
    free_bytes: Callable[[], Optional[int]] = lambda: None


class DeviceResident:
    """A Batches whose images and labels live on a device; yields the same batches in the same order."""

    on_device = True

    def __init__(self, batches, hooks):
        self.batches, self.hooks = batches, hooks
        self.device_images = hooks.upload(batches.images)
        self.device_labels = hooks.upload(batches.labels)
        self._in_order = None if batches.shuffle else hooks.upload(np.arange(batches.num_examples, dtype=np.int64))

    framework = property(lambda self: self.batches.framework)
    batch_size = property(lambda self: self.batches.batch_size)
    images = property(lambda self: self.batches.images)
    labels = property(lambda self: self.batches.labels)
    num_examples = property(lambda self: self.batches.num_examples)

    def __len__(self):
        return len(self.batches)

    def __iter__(self):
        b = self.batches
        # the same generator and the same draw as Batches.numpy_batches: the same order of examples
        order = self._in_order if not b.shuffle else self.hooks.upload(b.rng.permutation(b.num_examples))
        for start in range(0, b.num_examples, b.batch_size):
            yield self.hooks.take(self.device_images, self.device_labels, order[start:start + b.batch_size])


def fits(nbytes, free_bytes):
    """True when `nbytes` of data leave room for training in `free_bytes` (None: unknown, so try)."""
    return free_bytes is None or nbytes * HEADROOM <= free_bytes


def place(iters, hooks, on_gpu):
    """Return `iters` as DeviceResident when on a GPU and all are Batches that fit; else unchanged.

    On a CPU the host pipeline is already where the model is, and its worker thread overlaps
    gathering with the step, so it stays.
    """
    if not on_gpu or not all(isinstance(it, Batches) for it in iters):
        return tuple(iters)
    nbytes = sum(it.images.nbytes + it.labels.nbytes for it in iters)
    if not fits(nbytes, hooks.free_bytes()):
        return tuple(iters)
    return tuple(DeviceResident(it, hooks) for it in iters)
