"""Offline, corrected stand-ins for the `d2l` helpers used by the ResNet chapter.

Import one framework module, as the book does::

    from d2l_compat import torch as d2l        # or tensorflow, mxnet, paddle, mindspore

Importing this package itself imports no deep-learning framework.
"""

FRAMEWORKS = ("torch", "tensorflow", "mxnet", "paddle", "mindspore")

__version__ = "0.1.0"
