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


def test_a_python_without_the_frameworks_wheels_is_named(monkeypatch):
    from d2l_compat.common import frameworks
    monkeypatch.setattr(frameworks.sys, "version_info", (3, 13, 0, "final", 0))
    monkeypatch.setitem(sys.modules, "mindspore", None)  # what a 3.13 environment has: no MindSpore
    with pytest.raises(frameworks.FrameworkMissingError,
                       match=r"this is Python 3\.13, and MindSpore's pinned release works on Python 3\.9-3\.12 only"):
        frameworks.require("mindspore", "MindSpore")


def test_a_framework_missing_from_a_python_it_supports_is_not_blamed_on_python(monkeypatch):
    from d2l_compat.common import frameworks
    monkeypatch.setattr(frameworks.sys, "version_info", (3, 13, 0, "final", 0))
    monkeypatch.setitem(sys.modules, "paddle", None)
    with pytest.raises(frameworks.FrameworkMissingError) as info:
        frameworks.require("paddle", "PaddlePaddle")
    assert "PaddlePaddle is not installed in this Python" in str(info.value) and "Python 3.13" not in str(info.value)
    assert 'FRAMEWORKS="paddle"' in str(info.value) and 'pip install -e ".[paddle]"' in str(info.value)
