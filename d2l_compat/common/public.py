"""The helpers every framework module re-exports unchanged."""
from .animator import Animator  # noqa: F401
from .loss_curves import plot_training_losses  # noqa: F401
from .metrics import Accumulator, Timer  # noqa: F401
from .presets import classroom_preset  # noqa: F401
from .variants import RESNET_VARIANTS, resnet_multiply_adds, resnet_parameters, resnet_table  # noqa: F401
