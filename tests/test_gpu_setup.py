"""`make setup-gpu`: which GPU build each framework gets, and the refusals, from faked nvidia-smi output."""
import importlib.util
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
spec = importlib.util.spec_from_file_location("gpu_setup", ROOT / "tools" / "gpu_setup.py")
gpu_setup = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gpu_setup)

H200 = "NVIDIA H200, 580.95.05, 9.0\n"
A100_R535 = "NVIDIA A100-SXM4-80GB, 535.183.01, 8.0\n"
RTX4090_R550 = "NVIDIA GeForce RTX 4090, 550.54.14, 8.9\n"
T4_R470 = "Tesla T4, 470.256.02, 7.5\n"
OLD_R418 = "Tesla V100-SXM2-16GB, 418.87.01, 7.0\n"
CUDA11 = ("libcudart.so.11.0", "libcudnn.so.8", "libnvrtc.so.11.2")


def choose(framework, smi, libraries=CUDA11):
    return gpu_setup.choose_build(framework, gpu_setup.parse_nvidia_smi(smi), lambda name: name in libraries)


def test_nvidia_smi_lines_are_parsed():
    gpus = gpu_setup.parse_nvidia_smi(H200 + "NVIDIA H200, 580.95.05, 9.0\n")
    assert gpus[0] == gpu_setup.Gpu("NVIDIA H200", (580, 95, 5), (9, 0)) and len(gpus) == 2
    assert gpu_setup.parse_nvidia_smi("Tesla K80, 470.57.02\n")[0].capability is None
    assert gpu_setup.parse_nvidia_smi("") == []


def fake_run(stdout, returncode=0):
    def run(command, **kwargs):
        return subprocess.CompletedProcess(command, returncode, stdout, "")
    return run


def test_no_nvidia_smi_means_no_gpu():
    def missing(command, **kwargs):
        raise FileNotFoundError(command[0])
    assert gpu_setup.query_gpus(missing) == []
    assert gpu_setup.query_gpus(fake_run("", returncode=9)) == []
    assert gpu_setup.query_gpus(fake_run(H200))[0].name == "NVIDIA H200"


@pytest.mark.parametrize("name", sorted(gpu_setup.BUILDS))
def test_without_a_gpu_every_framework_is_refused_before_downloading(name):
    with pytest.raises(gpu_setup.GpuSetupError, match="no NVIDIA GPU found"):
        choose(name, "")


@pytest.mark.parametrize("smi, requirement, index", [
    (H200, "torch===2.13.0", None),                                   # R580: PyPI's CUDA 13 build
    (A100_R535, "torch==2.13.0+cu126", "https://download.pytorch.org/whl/cu126"),  # CUDA 12 driver
])
def test_torch_takes_the_cuda_build_its_driver_can_run(smi, requirement, index):
    build, warnings = choose("torch", smi)
    assert build.requirements == (requirement,) and build.index == index and warnings == []


def test_an_old_driver_is_refused_with_the_driver_it_needs():
    with pytest.raises(gpu_setup.GpuSetupError) as err:
        choose("torch", T4_R470)
    assert "needs NVIDIA driver 580" in str(err.value) and "needs NVIDIA driver 525.60.13" in str(err.value)
    assert "driver is 470.256.2" in str(err.value)
    with pytest.raises(gpu_setup.GpuSetupError, match="driver 525.60.13 or newer"):
        choose("tensorflow", OLD_R418)


def test_tensorflow_and_paddle_on_hopper():
    assert choose("tensorflow", H200)[0].requirements == ("tensorflow[and-cuda]==2.21.0",)
    build, _ = choose("paddle", H200)
    assert build.requirements == ("paddlepaddle-gpu==3.3.1",) and build.index.endswith("/cu126/")
    assert choose("paddle", T4_R470)[0].index.endswith("/cu118/")   # a CUDA 11 driver: the cu118 build


def test_mxnet_cannot_run_on_compute_capability_9():
    with pytest.raises(gpu_setup.GpuSetupError) as err:
        choose("mxnet", H200)
    assert "no PTX" in str(err.value) and "9.0" in str(err.value) and "Apache Attic" in str(err.value)


def test_mxnet_runs_on_ampere_and_ada():
    assert choose("mxnet", A100_R535)[0].requirements == ("mxnet-cu117==1.9.1",)
    assert choose("mxnet", RTX4090_R550) == (gpu_setup.BUILDS["mxnet"][0], [])  # 8.6 kernels run on 8.9


def test_mindspore_without_cuda_11_libraries_is_refused():
    with pytest.raises(gpu_setup.GpuSetupError) as err:
        choose("mindspore", A100_R535, libraries=())
    assert "libcudart.so.11.0" in str(err.value) and "libcudnn.so.8" in str(err.value)
    assert "install CUDA 11.6 and cuDNN 8" in str(err.value)


def test_mindspore_on_hopper_warns_about_ptx():
    build, warnings = choose("mindspore", H200)
    assert build.requirements == ("mindspore==2.8.0",)
    assert len(warnings) == 1 and "PTX" in warnings[0] and "nobody has verified" in warnings[0]


def test_unknown_framework():
    with pytest.raises(gpu_setup.GpuSetupError, match="choose from"):
        choose("jax", H200)


def test_the_command_refuses_in_one_line_on_a_machine_without_a_gpu(tmp_path):
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho 'NVIDIA-SMI has failed because it could not communicate with the driver' >&2\nexit 9\n")
    fake.chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin"}
    venv = tmp_path / "venv"
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "gpu_setup.py"), "tensorflow", "--venv", str(venv)],
                         capture_output=True, text=True, env=env)
    assert out.returncode == 1 and "make setup-gpu: no NVIDIA GPU found" in out.stderr
    assert not venv.exists()  # checked before anything is created or downloaded
