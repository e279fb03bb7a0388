"""The notebooks' own code for tests and benchmarks; it lives in d2l_compat.common.notebooks."""
from d2l_compat.common.notebooks import (CHECK_MARKER, NOTEBOOKS, ROOT, build_namespace,  # noqa: F401
                                         code_cells, model_code, notebook_path)
