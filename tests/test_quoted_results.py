"""The numbers the notebooks quote equal the committed results, so they cannot drift.

tools/quote_results.py writes each quote (`<!-- quote:NAME -->…<!-- /quote -->`) from its source;
here the notebooks must hold exactly what it would write.
"""
import importlib.util
import json
import re

import nbformat
import pytest

from notebook_code import NOTEBOOKS, ROOT, notebook_path

spec = importlib.util.spec_from_file_location("quote_results", ROOT / "tools" / "quote_results.py")
quote_results = importlib.util.module_from_spec(spec)
spec.loader.exec_module(quote_results)
ALL = pytest.mark.parametrize("name", sorted(NOTEBOOKS))


def markdown(name):
    return [c.source for c in nbformat.read(notebook_path(name), as_version=4).cells if c.cell_type == "markdown"]


@ALL
def test_every_notebook_quotes_every_result(name):
    found = [m["name"] for text in markdown(name) for m in quote_results.QUOTE.finditer(text)]
    assert sorted(found) == sorted(quote_results.QUOTES), f"{name} quotes {found}"


@ALL
def test_quotes_equal_the_committed_results(name):
    try:
        stale = quote_results.stale_cells(name)
    except quote_results.QuoteError as e:
        pytest.fail(f"cannot write the quotes: {e}")
    for index, text, expected in stale:
        pytest.fail(f"{NOTEBOOKS[name]} cell {index} quotes stale numbers; run `python tools/quote_results.py`.\n"
                    f"notebook:\n{text}\n\nresults say:\n{expected}")


@ALL
def test_markers_stay_invisible(name):
    """A comment that opens a line is an HTML block to the end of that line: nothing may follow it."""
    for text in markdown(name):
        for line in text.splitlines():
            if line.startswith("<!--"):
                assert line.endswith("-->") and line.count("-->") == 1, f"{name}: {line!r} would show raw"


@pytest.fixture
def results(tmp_path, monkeypatch):
    folder = tmp_path / "bench" / "results"
    folder.mkdir(parents=True)
    monkeypatch.setattr(quote_results, "ROOT", tmp_path)
    monkeypatch.setattr(quote_results, "RESULTS", folder)
    return folder


def classroom_results(png):
    run = dict(seed=0, test_acc=0.861, train_acc=0.87, training_seconds=250.0, wall_seconds=260.0, curve=[])
    return {"date": "2026-12-01", "machine": "test CPU, 2 cores",
            "preset": {"train_images": 60000, "image_size": 28, "batch_size": 64, "test_images": 10000,
                       "optimizer": "SGD", "schedule": "one epoch", "description_zh": "全部 60000 张训练图片，28×28，一轮。"},
            "target": {"test_acc": 0.85, "training_seconds": 300},
            "frameworks": {"torch": {"runs": [run, dict(run, seed=1, test_acc=0.872)], "min_test_acc": 0.861,
                                     "max_training_seconds": 250.0, "met": True, "curve_png": png}}}


def test_classroom_quote_reads_the_new_schema(results):
    (results / "classroom-torch.png").write_bytes(b"png")
    (results / "classroom.json").write_text(json.dumps(classroom_results("bench/results/classroom-torch.png")))
    text = quote_results.quote_classroom("torch")
    assert text.startswith("全部 60000 张训练图片，28×28，一轮。")
    for part in ("2026-12-01", "一台 2 核 CPU", "PyTorch 2 次", "0.861–0.872", "至多 4.2 分钟", "达到“5 分钟内测试精度不低于 0.85”"):
        assert part in text
    assert quote_results.curve_file("torch") == "classroom-torch.png"
    with pytest.raises(quote_results.QuoteError, match="shows no classroom-torch.png"):
        quote_results.quoted("<!-- quote:classroom --><!-- /quote -->", "torch")


def test_the_old_classroom_schema_is_refused_clearly(results):
    (results / "classroom.json").write_text(json.dumps([{"framework": "torch", "test_acc": 0.8}]))
    with pytest.raises(quote_results.QuoteError, match="old schema.*make bench-classroom"):
        quote_results.quote_classroom("torch")


def test_a_missing_curve_is_refused(results):
    (results / "classroom.json").write_text(json.dumps(classroom_results("bench/results/classroom-torch.png")))
    with pytest.raises(quote_results.QuoteError, match="classroom-torch.png"):
        quote_results.quote_classroom("torch")


def test_exercise_quote_is_one_table_in_which_each_notebook_finds_its_own_framework(results):
    run = dict(test_acc=0.85, train_acc=0.86, loss=0.4, training_seconds=200.0, epochs=2, device="cpu")
    data = {"date": "2026-12-01", "machine": "test CPU", "variants": ["ResNet-18", "预激活", "无捷径"],
            "frameworks": {"torch": {"version": "2", "preset": {}, "runs": {
                "ResNet-18": run, "预激活": dict(run, test_acc=0.84), "无捷径": dict(run, test_acc=0.83)}}}}
    assert "make bench-exercises" in quote_results.quote_exercises("torch")  # not measured yet: says how
    (results / "exercises.json").write_text(json.dumps(data))
    texts = {fw: quote_results.quote_exercises(fw) for fw in NOTEBOOKS}
    rows = {fw: [line for line in text.splitlines() if line.startswith("| ")][1:] for fw, text in texts.items()}
    assert rows["torch"] == ["| **PyTorch** | 2 | 0.850（0.860） | 0.840（0.860） | 0.830（0.860） | 3.3 分钟 |"]
    assert rows["mxnet"] == ["| PyTorch | 2 | 0.850（0.860） | 0.840（0.860） | 0.830（0.860） | 3.3 分钟 |"]
    assert "实测了 PyTorch（MXNet、TensorFlow、飞桨、MindSpore 未测）" in texts["torch"]
    assert "本笔记本的 PyTorch 一行加粗：ResNet-18 的测试精度为 0.850" in texts["torch"]
    assert "MXNet 还没有实测结果" in texts["mxnet"] and "飞桨还没有实测结果" in texts["paddle"]


def test_cpu_estimate_is_the_recipe_over_the_measured_rate(results):
    (results / "latest.json").write_text(json.dumps({"date": "d", "machine": "m", "results": [
        {"framework": "paddle", "train_96": 15.0}]}))
    assert "每秒约训练 15 张" in quote_results.quote_cpu("paddle") and "约需 11.1 小时" in quote_results.quote_cpu("paddle")
    with pytest.raises(quote_results.QuoteError, match="no train_96 for torch"):
        quote_results.quote_cpu("torch")


def test_degradation_quote_shows_the_notebooks_own_curves_and_every_frameworks_row(results):
    def run(loss):
        return dict(final_loss=loss, loss_curve=[[1.0, loss]], train_acc=0.5, test_acc=0.5, training_seconds=60.0,
                    device="cpu")
    nets = ["普通网络-18", "普通网络-34", "ResNet-18", "ResNet-34"]
    assert "make bench-degradation" in quote_results.quote_degradation("torch")  # not measured yet: says how
    data = {"date": "2026-12-02", "machine": {"cores": 2, "model_name": "test CPU"}, "variants": nets,
            "frameworks": {"paddle": {"version": "3", "preset": {"train_images": 12000},
                                      "runs": {n: run(l) for n, l in zip(nets, (0.6, 0.7, 0.5, 0.45))}}}}
    (results / "degradation.json").write_text(json.dumps(data, ensure_ascii=False))
    paddle, torch = quote_results.quote_degradation("paddle"), quote_results.quote_degradation("torch")
    assert "| **飞桨** | 0.600 | 0.700 | 0.500 | 0.450 | 4.0 分钟 |" in paddle
    assert "(attachment:degradation-paddle.png)" in paddle and "前 12000 张训练图像" in paddle
    assert "| 飞桨 | 0.600 |" in torch and "attachment:" not in torch and "PyTorch 还没有实测结果" in torch
    assert "一台 2 核 CPU" in paddle


def test_the_prose_on_degradation_holds_for_every_measured_framework():
    # lesson/resnet.md reads the committed runs: deeper plain nets train worse, the shortcut fixes most
    # of it, and in this short setting ResNet-34 still trails ResNet-18. A new measurement that breaks
    # one of these must come with new prose.
    path = quote_results.RESULTS / "degradation.json"
    if not path.is_file():
        pytest.skip("bench/results/degradation.json is not committed yet (make bench-degradation)")
    for fw, result in json.loads(path.read_text("utf-8"))["frameworks"].items():
        loss = {name: run["final_loss"] for name, run in result["runs"].items()}
        assert loss["普通网络-34"] > loss["普通网络-18"], (fw, loss)
        assert loss["ResNet-34"] < loss["普通网络-34"], (fw, loss)
        assert loss["ResNet-34"] > loss["ResNet-18"], (fw, loss)


def test_budget_quote_names_the_images_the_mode_and_the_whole_cell(results):
    runs = [{"seed": k, "test_acc": acc, "train_images": images, "mode": "graph", "training_seconds": 239.0,
             "wall_seconds": wall} for k, (acc, images, wall) in enumerate([(0.84, 24000, 280.0), (0.846, 24512, 290.0)])]
    machine = {"family": "25", "model": "1", "isa": ["AVX2"], "cores": 2}
    (results / "classroom-budget.json").write_text(json.dumps(
        {"date": "2026-12-02", "machine": machine, "minutes": 4, "target": {"test_acc": 0.85, "cell_seconds": 300},
         "frameworks": {"tensorflow": {"runs": runs}}}))
    text = quote_results.quote_budget("tensorflow")
    for part in ("2026-12-02", "一台 2 核 CPU", "TensorFlow 2 次（4 分钟）", "24000–24512 张图像", "各次选的执行模式是 `graph`",
                 "0.840–0.846", "至多 4.8 分钟"):
        assert part in text, (part, text)
    with pytest.raises(quote_results.QuoteError, match="no runs for paddle.*make bench-classroom-budget"):
        quote_results.quote_budget("paddle")


def test_the_classroom_prose_states_the_codes_own_numbers():
    # lesson/resnet.md describes the classroom switch and the mode chooser in numbers: keep them the code's.
    from d2l_compat.common import budget, modes, presets
    text = (quote_results.ROOT / "lesson" / "resnet.md").read_text("utf-8")
    assert f"默认训练 {presets.DEFAULT_MINUTES} 分钟" in text
    assert f"各试 {modes.TRIAL_STEPS} 步" in text
    assert f"达不到 {budget.TARGET_ACC} 的测试精度" in text
    fixed = re.findall(r"classroom_preset\(True, images=(\d+)\)", text)
    degradation = json.loads((quote_results.RESULTS / "degradation.json").read_text("utf-8"))
    measured = {str(r["preset"]["train_images"]) for r in degradation["frameworks"].values()}
    assert set(fixed) == {str(presets.CLASSROOM_IMAGES)} | measured, fixed  # the fixed recipe; exercise 6's
    assert f"`images={presets.CLASSROOM_IMAGES}`" in text
    classroom = json.loads((quote_results.RESULTS / "classroom.json").read_text("utf-8"))
    assert "测试精度在 5 分钟内达到了 0.85" in text
    assert all(entry["met"] for entry in classroom["frameworks"].values())  # what that sentence says
    assert classroom["target"] == {"test_acc": 0.85, "training_seconds": 300}
