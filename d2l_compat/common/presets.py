"""Run presets that shrink the documents' recipe without changing the notebooks' code.

- smoke (environment variable D2L_COMPAT_SMOKE=1): a few hundred images, one epoch; for tests and CI.
- classroom (`d2l.classroom_preset(True)` in a notebook): small enough for a laptop CPU in minutes.
The smoke preset wins when both are asked for, so CI never runs a long job.
"""
import dataclasses
import os

SMOKE_ENV = "D2L_COMPAT_SMOKE"


@dataclasses.dataclass(frozen=True)
class Preset:
    name: str
    train_size: int          # first N training images (Fashion-MNIST's order is already mixed)
    test_size: int           # first N test images
    num_epochs: int
    resize: object = "keep"  # "keep" the caller's resize, or an int / None to override it
    batch_size: int = None   # None keeps the caller's batch size
    epochs_by_framework: tuple = ()  # (framework, epochs) pairs that differ from num_epochs

    def epochs_for(self, framework):
        """The number of epochs this preset trains `framework` for."""
        return dict(self.epochs_by_framework).get(framework, self.num_epochs)

    def banner(self, num_epochs, resize, batch_size, framework=None):
        """The one line printed when training runs under this preset."""
        size = resize or 28
        return (f"[{self.name} preset] {self.epochs_for(framework)} epoch(s) instead of {num_epochs}, "
                f"{self.train_size} training and {self.test_size} test images at {size}x{size}, "
                f"batch size {batch_size}; "
                + ("unset D2L_COMPAT_SMOKE for the real run." if self.name == "smoke"
                   else "call d2l.classroom_preset(False) for the documents' recipe."))


SMOKE = Preset("smoke", train_size=512, test_size=256, num_epochs=1)
# The whole training set at the native 28x28 in batches of 64, for as many passes as fit in
# 5 minutes on a 2-core CPU: two for PyTorch and TensorFlow (0.883 and 0.867 test accuracy in
# 3.5 and 3.3 minutes), one for the slower three (README: classroom preset).
CLASSROOM = Preset("classroom", train_size=60000, test_size=10000, num_epochs=1, resize=None, batch_size=64,
                   epochs_by_framework=(("torch", 2), ("tensorflow", 2)))

_chosen = {"classroom": False}


def smoke_mode():
    """True when the environment asks for a smoke run."""
    return os.environ.get(SMOKE_ENV, "").strip().lower() not in ("", "0", "false", "no", "off")


def classroom_preset(on=True):
    """Switch the classroom preset on or off for the loaders and train_ch6 that follow."""
    if not isinstance(on, bool):
        raise TypeError(f"classroom_preset takes True or False, got {on!r}")
    _chosen["classroom"] = on


def active_preset():
    """The preset in force now, or None for the documents' recipe."""
    if smoke_mode():
        return SMOKE
    return CLASSROOM if _chosen["classroom"] else None


def effective_resize(resize):
    """The resize a loader should use under the active preset."""
    preset = active_preset()
    return resize if preset is None or preset.resize == "keep" else preset.resize


def effective_batch_size(batch_size):
    """The batch size a loader should use under the active preset."""
    preset = active_preset()
    return batch_size if preset is None or preset.batch_size is None else preset.batch_size
