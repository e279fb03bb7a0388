"""`make setup FRAMEWORKS=...`: which frameworks, which pins, CPU builds only, and the Makefile's stamp."""
import importlib.util
import json
import os
import pathlib
import re
import stat
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("setup_env", ROOT / "tools" / "setup_env.py")
setup_env = importlib.util.module_from_spec(spec)
spec.loader.exec_module(setup_env)

LOCK = (ROOT / "requirements" / "lock.txt").read_text()


def test_all_or_nothing_means_the_five_in_order():
    five = ["torch", "tensorflow", "mxnet", "paddle", "mindspore"]
    assert setup_env.choose([], (3, 11)) == five
    assert setup_env.choose(["all"], (3, 11)) == five
    assert setup_env.choose(["paddle", "torch"], (3, 11)) == ["torch", "paddle"]


@pytest.mark.parametrize("names, python, words", [
    (["pytorch"], (3, 11), ["unknown framework pytorch", "choose from"]),
    (["mindspore", "tensorflow"], (3, 13), ["Python 3.13 cannot hold mindspore", "wheels for 3.9-3.12"]),
    (["mxnet"], (3, 13), ["mxnet", "NumPy < 2"]),
    (["torch"], (3, 10), ["needs Python 3.11 or newer", "pip install -e"]),
])
def test_impossible_requests_are_refused_before_any_download(names, python, words):
    with pytest.raises(setup_env.SetupError) as err:
        setup_env.choose(names, python)
    for word in words:
        assert word in str(err.value)


def test_one_framework_on_a_newer_python_is_allowed():
    assert setup_env.choose(["tensorflow"], (3, 13)) == ["tensorflow"]
    assert setup_env.choose(["paddle"], (3, 12)) == ["paddle"]


def test_constraints_replace_only_the_overridden_pins():
    text = setup_env.constraints((3, 13), "# header\nnumpy==1.26.4\nscipy==1.17.1\n",
                                 "numpy==2.4.6  # NumPy 1.26 has no 3.13 wheels\n")
    assert text.split() == ["scipy==1.17.1", "numpy==2.4.6"]


def test_the_lock_is_used_as_is_on_its_own_python():
    assert setup_env.constraints((3, 11), LOCK).split() == setup_env._requirements(LOCK)


def test_every_override_file_names_a_python_and_pins_exactly():
    for path in (ROOT / "requirements").glob("overrides-*.txt"):
        assert re.fullmatch(r"overrides-py3\.\d+\.txt", path.name)
        for line in setup_env._requirements(path.read_text()):
            assert re.fullmatch(r"[A-Za-z0-9_.-]+==[\w.]+", line), line


@pytest.mark.parametrize("name, version, cuda", [
    ("nvidia-cudnn-cu13", "9.20.0.48", True), ("cuda-toolkit", "13.0.3.0", True),
    ("triton", "3.6.0", True), ("torch", "2.13.0+cu128", True),
    ("torch", "2.13.0+cpu", False), ("numpy", "1.26.4", False), ("tensorflow_cpu", "2.21.0", False),
])
def test_cuda_packages_in_a_pip_report(name, version, cuda):
    report = {"install": [{"metadata": {"name": name, "version": version}}]}
    assert bool(setup_env.cuda_packages(report)) == cuda


def fake_pip(tmp_path, version):
    """A `pip` whose dry run reports torch `version` from the local wheels, or finds none."""
    script = tmp_path / "pip"
    report = json.dumps({"install": [{"metadata": {"name": "torch", "version": version}}]}) if version else ""
    script.write_text("#!/bin/sh\n" + (f"echo '{report}'\n" if version else "exit 1\n"))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return [str(script)]


def no_network(url):
    raise AssertionError(f"asked the network: {url}")


def test_a_local_cpu_wheel_needs_no_index(tmp_path):
    assert setup_env.torch_index_options(fake_pip(tmp_path, "2.13.0+cpu"), LOCK, "linux", no_network) == []


@pytest.mark.parametrize("local", [None, "2.13.0"])
def test_without_a_local_cpu_wheel_pytorchs_cpu_index_is_added(tmp_path, local):
    options = setup_env.torch_index_options(fake_pip(tmp_path, local), LOCK, "linux", lambda url: None)
    assert options == ["--extra-index-url", "https://download.pytorch.org/whl/cpu"]


def test_an_unreachable_cpu_index_stops_before_pip_falls_back_to_cuda(tmp_path):
    with pytest.raises(setup_env.SetupError) as err:
        setup_env.torch_index_options(fake_pip(tmp_path, None), LOCK, "linux", lambda url: "Name or service not known")
    assert "does not answer (Name or service not known)" in str(err.value) and "CUDA build" in str(err.value)


def test_other_platforms_take_pypis_wheel(tmp_path):
    assert setup_env.torch_index_options(fake_pip(tmp_path, None), LOCK, "darwin", no_network) == []


def test_pyproject_extras_pin_the_locked_framework_versions():
    tomllib = pytest.importorskip("tomllib")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    locked = dict(line.split("==") for line in setup_env._requirements(LOCK))
    locked = {setup_env.normalize(name): version for name, version in locked.items()}
    for framework, (dists, _, _) in setup_env.FRAMEWORKS.items():
        pins = [req.split(";")[0].strip() for req in extras[framework] if "==" in req]
        assert pins, framework
        for pin in pins:
            name, version = pin.split("==")
            assert locked.get(setup_env.normalize(name), version) == version, pin
    assert set(extras["all"][0].split("[")[1].rstrip("]").split(",")) == set(setup_env.FRAMEWORKS)


@pytest.fixture
def fake_make(tmp_path):
    """`make <venv>/.installed` with a fake Python that logs what setup_env.py was asked."""
    log = tmp_path / "calls.log"
    python = tmp_path / "python"
    python.write_text(f"#!/bin/sh\necho \"$*\" >> {log}\n")
    python.chmod(python.stat().st_mode | stat.S_IEXEC)
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(python)

    def run(*assignments):
        env = {k: v for k, v in os.environ.items() if k not in ("FRAMEWORKS", "MAKEFLAGS")}
        subprocess.run(["make", "-s", "-C", str(ROOT), f"{venv}/.installed", f"VENV={venv}",
                        f"PYTHON={python}", *assignments], check=True, env=env, capture_output=True)
        calls = log.read_text().splitlines() if log.exists() else []
        log.unlink(missing_ok=True)
        return [call for call in calls if "setup_env.py install" in call]
    return run


def test_a_new_frameworks_set_reruns_the_install_and_the_same_set_does_not(fake_make):
    first = fake_make("FRAMEWORKS=torch")
    assert len(first) == 1 and first[0].endswith(" torch")
    assert fake_make() == []                      # the set is remembered: nothing to do
    assert fake_make("FRAMEWORKS=torch") == []
    again = fake_make("FRAMEWORKS=paddle torch")
    assert len(again) == 1 and again[0].endswith(" paddle torch")
    assert fake_make("FRAMEWORKS=all")[0].endswith(" mindspore mxnet paddle tensorflow torch")


def test_an_unknown_framework_stops_make_with_the_choices(fake_make):
    with pytest.raises(subprocess.CalledProcessError) as err:
        fake_make("FRAMEWORKS=pytorch")
    assert "unknown" in err.value.stderr.decode() and "choose from" in err.value.stderr.decode()


def test_environment_yml_installs_the_lock_on_its_python():
    text = (ROOT / "environment.yml").read_text()
    assert f"python={'.'.join(map(str, setup_env.LOCK_PYTHON))}" in text
    assert "-c requirements/lock.txt" in text and "-e .[all,test]" in text
    assert setup_env.TORCH_CPU_INDEX in text  # CPU builds, as make setup
