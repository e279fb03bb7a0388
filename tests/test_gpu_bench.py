"""bench/gpu.py, the prepared GPU check: its CPU smoke run, its no-GPU exit, its report and its arguments."""
import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "gpu.py"
spec = importlib.util.spec_from_file_location("gpu_bench", SCRIPT)
gpu = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gpu)


def _run(*args, env=None):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, timeout=600)


def test_cpu_smoke_runs_the_notebook_net_and_writes_json_and_markdown(d2l, framework, tmp_path):
    out = tmp_path / "gpu-report"
    # PyTorch's run also takes the data-parallel path (--devices all: on the CPU smoke run, 2 CPU workers),
    # the one a GPU machine with only PyTorch runs.
    parallel = ["--devices", "all"] if framework == "torch" else []
    done = _run("--out", str(out), "--frameworks", framework, "--cpu-smoke", *parallel)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads((out / "gpu.json").read_text(encoding="utf-8"))
    if parallel:
        result = report["parallel"][framework]
        assert result["status"] == "measured" and result["workers"] == 2 and result["device"] == "2×cpu", result
        assert f"- {framework}: 2 worker(s) of {result['engine']} on 2×cpu" in (out / "gpu.md").read_text("utf-8")
    assert report["mode"] == "cpu-smoke" and report["recipe"] == gpu.SMOKE_RECIPE
    result = report["frameworks"][framework]
    assert result["status"] == "measured"
    runs = result["runs"]
    assert [r["mode"] for r in runs] == (["recipe", "fast"] if framework == "torch" else ["recipe"])
    text = (out / "gpu.md").read_text(encoding="utf-8")
    for run in runs:
        assert run["epochs"] == 1 and len(run["epoch_seconds"]) == 1 and run["data_on_device"] is False
        assert run["loss"] > 0 and 0 <= run["train_acc"] <= 1 and 0 <= run["test_acc"] <= 1
        assert run["targets_met"] is None  # targets are judged on a GPU only
        row = (f"| {run['device']} | no | {run['seconds_per_epoch']:.2f} | {run['images_per_sec']:,.0f} | "
               f"{run['images_per_sec_after_epoch_1']:,.0f} | {run['loss']:.3f} | {run['train_acc']:.3f} | "
               f"{run['test_acc']:.3f} |")
        assert row in text  # the Markdown shows the JSON's figures
    assert "not judged (CPU smoke run)" in text and f"{gpu.DOCUMENTS_V100[framework][3]:,.1f}" in text
    assert not list(out.glob("*.tmp"))


@pytest.mark.frameworks("torch")
def test_without_a_gpu_it_says_so_in_one_line_and_exits_3(d2l, framework, tmp_path):
    out = tmp_path / "never-written"
    done = _run("--out", str(out), "--frameworks", "torch", env={"CUDA_VISIBLE_DEVICES": ""})
    assert done.returncode == gpu.EXIT_NO_GPU == 3
    assert done.stdout.count("\n") == 1 and "no GPU found (torch: cpu)" in done.stdout
    assert not out.exists()


@pytest.mark.frameworks("torch")
def test_the_check_needs_no_notebook_tooling(d2l, framework):
    """A bare GPU machine has no Jupyter, matplotlib or pandas: the check's whole import path avoids them."""
    code = (f"import sys, contextlib, io; sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / 'tests')!r}]\n"
            f"import importlib.util; spec = importlib.util.spec_from_file_location('g', {str(SCRIPT)!r})\n"
            "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
            "import d2l_compat.torch, notebook_code\n"
            "with contextlib.redirect_stdout(io.StringIO()): notebook_code.build_namespace('torch')\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'matplotlib', 'IPython', 'ipykernel', 'pandas', 'nbformat', 'PIL', 'mxnet', 'tensorflow'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def _run_result(mode, images_per_sec, test_acc):
    return {"mode": mode, "device": "cuda:0", "data_on_device": True, "epochs": 10, "epoch_seconds": [4.0] * 10,
            "seconds_per_epoch": 4.0, "images_per_sec": images_per_sec, "images_per_sec_after_epoch_1": images_per_sec,
            "loss": 0.012, "train_acc": 0.997, "test_acc": test_acc}


@pytest.mark.parametrize("mode, speed, acc, met", [
    ("recipe", 15000, 0.89, {"images_per_sec": True, "test_acc": True}),
    ("recipe", 14999, 0.95, {"images_per_sec": False, "test_acc": True}),
    ("fast", 39999, 0.889, {"images_per_sec": False, "test_acc": False}),
    ("fast", 40000, 0.90, {"images_per_sec": True, "test_acc": True})])
def test_targets_are_judged_against_the_issue_s_thresholds(mode, speed, acc, met):
    assert gpu.judged(_run_result(mode, speed, acc), smoke=False) == met
    assert gpu.judged(_run_result(mode, speed, acc), smoke=True) is None


def test_report_lists_runs_verdicts_and_what_was_not_measured():
    run = {**_run_result("recipe", 16000, 0.88), "targets_met": {"images_per_sec": True, "test_acc": False}}
    report = {"mode": "gpu", "recipe": gpu.RECIPE, "date": "2030-01-01", "total_seconds": 300.0,
              "machine": {"gpu": "NVIDIA H200, driver 580", "cpu_count": 16, "python": "3.12.3", "numpy": "2.1.0"},
              "documents_v100": {fw: dict(zip(("loss", "train_acc", "test_acc", "images_per_sec", "device"), v))
                                 for fw, v in gpu.DOCUMENTS_V100.items()},
              "frameworks": {"torch": {"status": "measured", "version": "2.13.0", "runs": [run]},
                             "mxnet": {"status": "failed", "error": "exit status 1: no kernel image"},
                             "paddle": {"status": "not installed"}}}
    text = gpu.markdown(report)
    assert "| torch 2.13.0 | documents' recipe | cuda:0 | yes | 4.00 | 16,000 | 16,000 | 0.012 | 0.997 | 0.880 | " \
           "5,032.7, 0.012, 0.997, 0.893 |" in text
    assert "- torch, documents' recipe: speed met, accuracy NOT met." in text
    assert "Not measured: mxnet (failed: exit status 1: no kernel image); paddle (not installed)." in text


@pytest.mark.parametrize("args, message", [
    (["--frameworks", "tourch"], "unknown framework"),
    (["--python", "torch"], "expected FRAMEWORK=PATH"),
    ([], "--out FOLDER is required")])
def test_bad_arguments_exit_2_with_a_message(args, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        gpu.main((["--out", "x"] if args and args[0] != "--out" else []) + args)
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_readme_states_the_check_s_smoke_size_targets_and_exit_status():
    text = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    r, t = gpu.SMOKE_RECIPE, gpu.TARGETS
    assert f"({r['train_images']} training and {r['test_images']} test images at {r['resize']}×{r['resize']}, one epoch)" in text
    assert (f"at least {t['recipe']['images_per_sec']:,} images/s with the documents' recipe and "
            f"{t['fast']['images_per_sec']:,} in fast mode, test accuracy at least {t['recipe']['test_acc']} both ways") in text
    assert f"{gpu.EXIT_NO_GPU} no framework sees a GPU" in text and f"{gpu.EXIT_FAILED} a framework's run failed" in text
