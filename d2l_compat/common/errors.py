"""Errors with messages that say what went wrong and how to fix it."""


class DatasetNotFoundError(FileNotFoundError):
    """Fashion-MNIST is not in any of the places looked at."""


class DatasetCorruptError(ValueError):
    """A Fashion-MNIST file exists but is truncated, corrupted or not an IDX file."""


class FrameworkMissingError(ImportError):
    """The framework a d2l_compat module needs is not installed."""
