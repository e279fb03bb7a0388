"""Timer and Accumulator, as in the book, and the accuracy loop every framework evaluates with."""
import time

import numpy as np


class Timer:
    """Record multiple running times."""

    def __init__(self):
        self.times = []
        self.start()

    def start(self):
        """Start the timer."""
        self.tik = time.perf_counter()

    def stop(self):
        """Stop the timer and record the time in a list."""
        self.times.append(time.perf_counter() - self.tik)
        return self.times[-1]

    def avg(self):
        """Return the average time."""
        return sum(self.times) / len(self.times)

    def sum(self):
        """Return the sum of time."""
        return sum(self.times)

    def cumsum(self):
        """Return the accumulated time."""
        return np.array(self.times).cumsum().tolist()


class Accumulator:
    """For accumulating sums over `n` variables."""

    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        """Add one value to each running sum."""
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def reset(self):
        """Set every sum back to zero."""
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx):
        return self.data[idx]


def accuracy(data_iter, count_correct):
    """Share of right answers over `data_iter`, given `count_correct(X, y)` for one batch.

    The counts are added up as framework tensors, wherever they live, and read back once at the
    end, so a GPU is not made to wait after every batch.
    """
    correct = total = 0
    for X, y in data_iter:
        correct += count_correct(X, y)
        total += int(y.shape[0])
    return float(correct) / total
