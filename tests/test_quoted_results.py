"""The numbers the notebooks quote equal the committed results, so they cannot drift.

tools/quote_results.py writes each quote (`<!-- quote:NAME -->…<!-- /quote -->`) from its source;
here the notebooks must hold exactly what it would write.
"""
import importlib.util
import json

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
    for part in ("2026-12-01", "（2 次）", "0.861–0.872", "至多 4.2 分钟", "达到“5 分钟内测试精度不低于 0.85”"):
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


def test_exercise_quote_is_one_table_for_every_notebook(results):
    run = dict(test_acc=0.85, train_acc=0.86, loss=0.4, training_seconds=200.0, epochs=2, device="cpu")
    data = {"date": "2026-12-01", "machine": "test CPU", "variants": ["ResNet-18", "预激活", "无捷径"],
            "frameworks": {"torch": {"version": "2", "preset": {}, "runs": {
                "ResNet-18": run, "预激活": dict(run, test_acc=0.84), "无捷径": dict(run, test_acc=0.83)}}}}
    assert "make bench-exercises" in quote_results.quote_exercises("torch")  # not measured yet: says how
    (results / "exercises.json").write_text(json.dumps(data))
    texts = {fw: quote_results.quote_exercises(fw) for fw in NOTEBOOKS}
    assert len(set(texts.values())) == 1
    assert "| PyTorch | 2 | 0.850（0.860） | 0.840（0.860） | 0.830（0.860） | 3.3 分钟 |" in texts["torch"]
    assert "实测了 PyTorch（" in texts["torch"]


def test_cpu_estimate_is_the_recipe_over_the_measured_rate(results):
    (results / "latest.json").write_text(json.dumps({"date": "d", "machine": "m", "results": [
        {"framework": "paddle", "train_96": 15.0}]}))
    assert "每秒约训练 15 张" in quote_results.quote_cpu("paddle") and "约需 11.1 小时" in quote_results.quote_cpu("paddle")
    with pytest.raises(quote_results.QuoteError, match="no train_96 for torch"):
        quote_results.quote_cpu("torch")
