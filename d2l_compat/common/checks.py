"""Argument checks shared by every framework module."""
import numbers


def positive_int(value, name, allow_none=False):
    """Return `value` if it is a positive int (or None when allowed); else raise a clear error."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive integer, got {value!r} of type {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return int(value)


def positive_number(value, name):
    """Return `value` as a float if it is a positive real number; else raise a clear error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive number, got {value!r} of type {type(value).__name__}")
    if not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value}")
    return float(value)


def gpu_index(i, count):
    """Check try_gpu's index: a non-negative int naming one of `count` GPUs (any index when none)."""
    if isinstance(i, bool) or not isinstance(i, numbers.Integral):
        raise TypeError(f"the GPU index must be an int such as 0, got {i!r}")
    if i < 0:
        raise ValueError(f"the GPU index must be 0 or larger, got {i}")
    if count and i >= count:
        raise ValueError(f"there is no GPU {i}: this machine has {count} GPU(s), numbered 0 to {count - 1}")
    return int(i)


def instance_of(value, expected, message):
    """Return `value` if it is an `expected`; else raise TypeError with `message` and what it got."""
    if not isinstance(value, expected):
        raise TypeError(f"{message}, got {type(value).__module__}.{type(value).__name__}")
    return value


def training_args(num_epochs, lr):
    """Check train_ch6's num_epochs and lr before any framework object is built."""
    return positive_int(num_epochs, "num_epochs"), positive_number(lr, "lr")
