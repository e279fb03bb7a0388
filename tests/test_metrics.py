"""The framework-neutral accuracy loop every framework module evaluates with."""
import numpy as np

from d2l_compat.common.metrics import accuracy


class DeviceCount:
    """Stands in for a framework scalar on a device: counts how often it is read back."""
    reads = 0

    def __init__(self, value):
        self.value = value

    def __add__(self, other):
        return DeviceCount(self.value + (other.value if isinstance(other, DeviceCount) else other))

    __radd__ = __add__

    def __float__(self):
        DeviceCount.reads += 1
        return float(self.value)


def test_accuracy_counts_exactly_over_uneven_batches_and_reads_back_once():
    labels = np.arange(10) % 3
    predictions = np.where(np.arange(10) < 7, labels, (labels + 1) % 3)  # 7 of 10 right
    batches = [(predictions[i:i + 4], labels[i:i + 4]) for i in range(0, 10, 4)]  # sizes 4, 4, 2
    DeviceCount.reads = 0
    assert accuracy(batches, lambda X, y: DeviceCount(int((X == y).sum()))) == 0.7
    assert DeviceCount.reads == 1
