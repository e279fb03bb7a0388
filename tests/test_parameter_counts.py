"""The five notebooks' ResNet-18s have the same parameters where their architectures agree.

Each count comes from a process of its own, running the notebook's own code.
"""
import importlib.util
import json
import pathlib
import subprocess
import sys

import pytest

import d2l_compat

HERE = pathlib.Path(__file__).parent
# MindSpore's nn.Conv2d has no bias unless has_bias=True: one bias per output channel of each of
# ResNet-18's convolutions: stem 64 + stage 1 (4 x 64) + stages 2-4 (5 convs each, the 1x1 included)
# x 128 / 256 / 512 = 64 + 256 + 640 + 1280 + 2560.
MINDSPORE_MISSING_CONV_BIASES = 4800


@pytest.fixture(scope="module")
def counts():
    found = {}
    for framework in d2l_compat.FRAMEWORKS:
        if importlib.util.find_spec(framework) is None:
            continue
        out = subprocess.run([sys.executable, str(HERE / "count_parameters.py"), framework],
                             capture_output=True, text=True, cwd=HERE, timeout=600)
        assert out.returncode == 0, f"{framework}:\n{out.stderr[-3000:]}"
        found[framework] = json.loads(out.stdout.strip().splitlines()[-1])["parameters"]
    return found


def test_frameworks_with_the_same_architecture_agree(counts):
    same = {fw: n for fw, n in counts.items() if fw != "mindspore"}
    if len(same) < 2:
        pytest.skip("fewer than two of PyTorch, TensorFlow, MXNet, PaddlePaddle are installed")
    assert len(set(same.values())) == 1, same


def test_mindspore_lacks_exactly_the_conv_biases(counts):
    if "mindspore" not in counts or "torch" not in counts:
        pytest.skip("needs MindSpore and PyTorch")
    assert counts["torch"] - counts["mindspore"] == MINDSPORE_MISSING_CONV_BIASES


def test_count_is_resnet18_sized(counts):
    if "torch" not in counts:
        pytest.skip("needs PyTorch")
    assert 11_000_000 < counts["torch"] < 11_300_000  # ResNet-18 for 1 channel and 10 classes
