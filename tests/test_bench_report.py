"""`make bench`'s report (bench/run.py) on made-up measurements: targets are stated plainly."""
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import run  # noqa: E402


def result(framework, train_96, train_28, ratio):
    return {"framework": framework, "version": "1", "device": "cpu", "train_96": train_96, "batch_96": 256,
            "train_28": train_28, "compat_28": train_28 / ratio, "loop_batches": 200, "loop_batch_size": 32,
            "loop_ratio_28": {"median": ratio, "min": ratio - 0.05, "max": ratio + 0.05}, "pipeline_96": 1e5}


def test_met_targets_say_so():
    text = run.table([result("torch", 100, 1000, 1.01), result("mxnet", 40, 400, 1.04)], "header")
    assert "| torch | 1 | 100.0 | 1.00 | 1000 | 1.00 | 1.010 (0.96–1.06) |" in text
    assert "| mxnet | 1 | 40.0 | 0.40 | 400 | 0.40 | 1.040 (0.99–1.09) |" in text
    assert "(median ratio ≤ 1.05): met;" in text and "at both sizes: met." in text
    assert "200 batches each" in text and "28×28, batch 32" in text


def test_a_slow_framework_and_a_slow_loop_are_named_with_the_reason():
    text = run.table([result("torch", 100, 1000, 1.0), result("paddle", 40, 300, 1.08),
                      result("mindspore", 20, 900, 1.0)], "header")
    assert "not met (worst 1.080)" in text
    assert "at both sizes: not met by paddle, mindspore." in text  # paddle at 28x28, mindspore at 96x96
    assert f"- paddle: {run.REASONS['paddle']}." in text and "- mindspore: not yet explained." in text


def test_without_pytorch_the_ratio_to_it_is_not_judged():
    text = run.table([result("mxnet", 40, 400, 1.04)], "header")
    assert "| mxnet | 1 | 40.0 | – | 400 | – |" in text and "not judged (PyTorch was not measured)" in text
