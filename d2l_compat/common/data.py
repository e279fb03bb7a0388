"""Fashion-MNIST as ready minibatches: read once, resize once, batch ahead of the training step."""
import functools
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import fashion_mnist, memory, presets
from .checks import positive_int
from .layout import add_channel_axis


@functools.lru_cache(maxsize=2)
def prepared_arrays(resize=None, preset=None):
    """(train_x, train_y, test_x, test_y): uint8 images (N, H, W) resized once, int32 labels."""
    from .resize import CHUNK, resize_images
    train_x, train_y, test_x, test_y = fashion_mnist.load_arrays()
    if preset is not None:  # cut before resizing, so a small run never resizes the whole set
        train_x, train_y = train_x[:preset.train_size], train_y[:preset.train_size]
        test_x, test_y = test_x[:preset.test_size], test_y[:preset.test_size]
    if resize:
        memory.check_resize((len(train_x), len(test_x)), train_x.shape[1:], resize, CHUNK)
        train_x, test_x = resize_images(train_x, resize), resize_images(test_x, resize)
    return train_x, train_y.astype(np.int32), test_x, test_y.astype(np.int32)


class Batches:
    """An iterable of minibatches (X, y): X float32 in [0, 1] in the framework's layout.

    Training sets are reshuffled example by example at every pass; test sets keep their order.
    While the model works on one batch, a thread gathers the next one (`prefetch`; bench/measure.py
    measures the loop with it off).
    """
    prefetch = True

    def __init__(self, images, labels, batch_size, shuffle, framework, convert, seed=None):
        self.images, self.labels = images, labels
        self.batch_size, self.shuffle, self.framework = batch_size, shuffle, framework
        self.convert = convert
        self.rng = np.random.default_rng(seed)

    @property
    def num_examples(self):
        """The number of examples one pass yields."""
        return len(self.labels)

    def __len__(self):
        return math.ceil(self.num_examples / self.batch_size)

    def _gather(self, index):
        x = add_channel_axis(self.images[index], self.framework).astype(np.float32)
        x *= np.float32(1 / 255)
        return x, self.labels[index]

    def numpy_batches(self):
        """Yield (X, y) as NumPy arrays, prepared one batch ahead in a worker thread."""
        n = self.num_examples
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        slices = [order[i:i + self.batch_size] for i in range(0, n, self.batch_size)]
        if not self.prefetch:
            yield from map(self._gather, slices)
            return
        with ThreadPoolExecutor(max_workers=1) as pool:
            ahead = pool.submit(self._gather, slices[0])
            for k in range(len(slices)):
                batch = ahead.result()
                if k + 1 < len(slices):
                    ahead = pool.submit(self._gather, slices[k + 1])
                yield batch

    def __iter__(self):
        for x, y in self.numpy_batches():
            yield self.convert(x, y)


def load_data_fashion_mnist(batch_size, resize, framework, convert):
    """Shared body of every framework's load_data_fashion_mnist: returns (train_iter, test_iter)."""
    batch_size = presets.effective_batch_size(positive_int(batch_size, "batch_size"))
    resize = positive_int(resize, "resize", allow_none=True)
    preset = presets.active_preset()
    train_x, train_y, test_x, test_y = prepared_arrays(presets.effective_resize(resize), preset)
    return (Batches(train_x, train_y, batch_size, True, framework, convert),
            Batches(test_x, test_y, batch_size, False, framework, convert))
