"""`import d2l_compat` imports no framework; each framework module imports only its own."""
import json
import subprocess
import sys

import pytest

FRAMEWORK_MODULES = ("torch", "tensorflow", "mxnet", "paddle", "mindspore", "keras", "jax")


def imported_frameworks(statement):
    code = (f"import sys\n{statement}\n"
            f"import json; print(json.dumps(sorted(m for m in {FRAMEWORK_MODULES!r} if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_package_import_loads_no_framework():
    assert imported_frameworks("import d2l_compat") == []


def test_shared_part_loads_no_framework():
    statement = ("import d2l_compat.common.data, d2l_compat.common.training, "
                 "d2l_compat.common.fashion_mnist, d2l_compat.common.public")
    assert imported_frameworks(statement) == []


def test_framework_module_loads_only_its_framework(d2l, framework):
    expected = {"torch": ["torch"], "tensorflow": ["keras", "tensorflow"], "mxnet": ["mxnet"],
                "paddle": ["paddle"], "mindspore": ["mindspore"]}[framework]
    loaded = imported_frameworks(f"from d2l_compat import {framework} as d2l")
    assert loaded == expected


def test_missing_framework_is_one_clear_line():
    from d2l_compat.common.errors import FrameworkMissingError
    from d2l_compat.common.frameworks import require
    with pytest.raises(FrameworkMissingError) as info:
        require("no_such_framework_xyz", "NoSuchFramework")
    message = str(info.value)
    assert "NoSuchFramework" in message and "make setup" in message and "\n" not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_unsupported_python_is_named(monkeypatch):
    from d2l_compat.common import frameworks
    monkeypatch.setattr(frameworks.sys, "version_info", (3, 13, 0, "final", 0))
    with pytest.raises(frameworks.FrameworkMissingError, match=r"this is Python 3\.13; .* need Python 3\.11"):
        frameworks.require("no_such_framework_xyz", "NoSuchFramework")
