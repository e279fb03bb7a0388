"""`make doctor` (d2l_compat.doctor): what it reports, each problem with its fix, and its exit status."""
import gzip
import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import pytest

from d2l_compat import FRAMEWORKS, doctor
from d2l_compat.common import fashion_mnist

ROOT = pathlib.Path(__file__).resolve().parent.parent
INSTALLED = [name for name in FRAMEWORKS if importlib.util.find_spec(doctor.IMPORT_NAMES[name])]


def data_found():
    try:
        return fashion_mnist.find_data_dir()
    except fashion_mnist.DatasetNotFoundError:
        return None


def test_doctor_runs_one_framework_in_a_fresh_process_and_imports_none_itself():
    if not INSTALLED:
        pytest.skip("no framework is installed")
    name = INSTALLED[0]
    # The doctor's own process must stay framework-free: it reports which modules it ended with.
    code = ("import sys, runpy\nsys.argv = ['doctor', %r]\n"
            "try:\n    runpy.run_module('d2l_compat.doctor', run_name='__main__')\n"
            "except SystemExit as done:\n    status = done.code\n"
            "print('@imported', sorted(m for m in %r if m in sys.modules))\nsys.exit(status)"
            % (name, tuple(doctor.IMPORT_NAMES.values())))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=600)
    out = done.stdout
    assert "@imported []" in out, out
    assert re.search(rf"^  {name} +\S+ +imports in [\d.]+ s; GPU: ", out, re.MULTILINE), out
    ready = doctor.kernel_python(doctor.KERNEL) is not None and data_found() is not None
    assert done.returncode == (0 if ready else 1), out
    assert ("READY:" in out) == ready and ("NOT READY" in out) == (not ready), out


def test_a_missing_framework_is_a_problem_with_its_fix():
    names = dict(doctor.IMPORT_NAMES, torch="no_such_framework_for_the_doctor_test")
    report = doctor.examine(frameworks=("torch",), import_names=names)
    assert "  torch       not installed" in report.lines
    assert ("torch is not installed (its notebook cannot run)",
            'make setup FRAMEWORKS="torch" (or pip install -e ".[torch]")') in report.problems
    assert report.importable == [] and not report.ready


def test_a_framework_that_fails_to_import_is_reported_with_its_error(tmp_path, monkeypatch):
    # A module earlier on the path that shadows the framework: installed, but broken.
    (tmp_path / "paddle.py").write_text("raise ImportError('libpaddle.so: cannot open shared object file')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    report = doctor.examine(frameworks=("paddle",))
    line = next(line for line in report.lines if line.startswith("  paddle"))
    assert "does NOT import" in line and "libpaddle.so: cannot open shared object file" in line, line
    what, fix = report.problems[0]
    assert what.startswith("paddle") and "does not import" in what and 'FRAMEWORKS="paddle"' in fix
    assert not report.ready


def test_missing_data_is_a_problem_with_its_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("D2L_COMPAT_DATA", str(tmp_path))
    report = doctor.examine(frameworks=())
    assert not report.data_ok and not report.ready
    what, fix = next(p for p in report.problems if p[0].startswith("Fashion-MNIST"))
    assert "was not found" in what and "make data" in fix
    assert any(line.startswith("NOT READY: missing") and "verified data" in line for line in report.lines)


def test_corrupt_data_is_a_problem_with_its_fix(tmp_path, monkeypatch):
    source = data_found()
    if source is None:
        pytest.skip("Fashion-MNIST is not installed (make data)")
    for name in fashion_mnist.FILES:
        data = fashion_mnist._read_bytes(fashion_mnist._file_in(source, name))
        if name == "t10k-labels-idx1-ubyte":
            data = data[: len(data) // 2]  # a download cut off halfway
        (tmp_path / name).write_bytes(data)
    monkeypatch.setenv("D2L_COMPAT_DATA", str(tmp_path))
    report = doctor.examine(frameworks=())
    what, fix = next(p for p in report.problems if p[0].startswith("Fashion-MNIST"))
    assert "t10k-labels-idx1-ubyte failed its checksum" in what and fix.startswith("delete the named file")
    assert not report.data_ok and not report.ready


def test_a_truncated_download_is_a_problem_with_its_fix(tmp_path, monkeypatch):
    for name in fashion_mnist.FILES:
        (tmp_path / f"{name}.gz").write_bytes(gzip.compress(b"\0" * 1000)[:-20])
    monkeypatch.setenv("D2L_COMPAT_DATA", str(tmp_path))
    what, fix = next(p for p in doctor.examine(frameworks=()).problems if p[0].startswith("Fashion-MNIST"))
    assert "is truncated or corrupted" in what and fix.startswith("delete the named file")


def test_a_missing_kernel_is_a_problem_with_its_fix():
    report = doctor.examine(frameworks=(), kernel="no-such-kernel-for-the-doctor-test")
    assert not report.kernel_ok and not report.ready
    assert ("the Jupyter kernel 'no-such-kernel-for-the-doctor-test' is not registered",
            "run `make setup`, or: python -m ipykernel install --sys-prefix "
            '--name no-such-kernel-for-the-doctor-test --display-name "Python (no-such-kernel-for-the-doctor-test)"'
            ) in report.problems


def test_unknown_framework_names_are_refused(capsys):
    assert doctor.main(["pytorch"]) == 2
    assert "unknown framework pytorch; choose from torch tensorflow mxnet paddle mindspore" in capsys.readouterr().err


def test_the_kernel_has_one_name_everywhere():
    makefile = (ROOT / "Makefile").read_text()
    lab = (ROOT / "tools" / "lab.py").read_text()
    assert re.search(rf"^KERNEL := {re.escape(doctor.KERNEL)}$", makefile, re.MULTILINE)
    assert f'KERNEL = "{doctor.KERNEL}"' in lab
