"""`make bench-classroom`'s bookkeeping (bench/classroom.py) on made-up runs: no training here.

bench/results/classroom.json is a contract (the notebooks quote it); these tests hold its shape.
"""
import json
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import classroom  # noqa: E402

TOP_KEYS = {"date", "machine", "preset", "target", "frameworks"}
PRESET_KEYS = {"train_images": int, "image_size": int, "batch_size": int, "test_images": int,
               "optimizer": str, "schedule": str, "description_zh": str}
FRAMEWORK_KEYS = {"runs", "min_test_acc", "max_training_seconds", "met", "curve_png"}
RUN_KEYS = {"seed", "test_acc", "train_acc", "training_seconds", "wall_seconds", "curve"}


def fake_budget_run(seed, final_acc, minutes):
    """A time-budget run: so many images in `minutes`, in one mode, and the whole cell 40 s longer."""
    return {"seed": seed, "test_acc": final_acc, "train_acc": 0.8, "train_images": 20000 + 64 * seed,
            "mode": "graph", "mode_line": "执行模式：…", "plan_line": "本机每秒…",
            "training_seconds": minutes * 60 - 1, "wall_seconds": minutes * 60 + 40}


def fake_run(seed, final_acc, seconds):
    """A run whose test accuracy climbs to `final_acc` over `seconds` of training, read five times."""
    curve = [[seconds * k / 5 / 60, 1.0 - 0.1 * k, 0.6 + 0.05 * k, final_acc - 0.03 * (5 - k)] for k in range(1, 6)]
    return {"seed": seed, "test_acc": final_acc, "train_acc": 0.85, "training_seconds": seconds,
            "wall_seconds": seconds + 20, "curve": curve}


def test_a_framework_meets_the_target_only_if_every_run_does():
    good = classroom.summarize([fake_run(0, 0.86, 200), fake_run(1, 0.87, 250)], "torch")
    assert set(good) == FRAMEWORK_KEYS and good["met"]
    assert good["min_test_acc"] == 0.86 and good["max_training_seconds"] == 250
    assert good["curve_png"] == "bench/results/classroom-torch.png"
    assert not classroom.summarize([fake_run(0, 0.86, 200), fake_run(1, 0.84, 200)], "torch")["met"]
    assert not classroom.summarize([fake_run(0, 0.86, 200), fake_run(1, 0.87, 301)], "torch")["met"]


def test_best_accuracy_within_the_limit_and_time_to_the_target_come_from_the_curves():
    runs = [fake_run(0, 0.88, 600), fake_run(1, 0.87, 600)]  # 10 minutes each, read every 2 minutes
    best, minutes = classroom.within_target(runs)
    assert best == pytest.approx(0.87 - 0.03 * 3)  # the worse run's best reading at or before 5 minutes (4 min)
    assert minutes == pytest.approx(10.0)  # run 1 reads >= 0.85 only at its end
    assert classroom.within_target([fake_run(0, 0.80, 100)])[1] is None


def test_the_preset_block_has_the_contracts_fields_from_the_preset_itself():
    from d2l_compat.common import presets
    record = classroom.preset_record(563)
    assert {k: type(v) for k, v in record.items()} == PRESET_KEYS
    assert record["train_images"] == presets.CLASSROOM.train_size and record["image_size"] == 28
    assert record["test_images"] == 10000 and record["batch_size"] == presets.CLASSROOM.batch_size
    assert record["optimizer"] == "SGD with momentum 0.9"
    assert record["schedule"].startswith("one-cycle learning rate") and "563 steps" in record["schedule"]
    assert record["description_zh"] == presets.describe_zh(presets.CLASSROOM, 0.05)


@pytest.fixture
def fake_training(monkeypatch):
    """classroom.measure replaced by made-up runs: (framework, runs, images) -> (runs, errors)."""
    accuracy = {"torch": 0.87, "paddle": 0.83}

    def measure(framework, runs, images, minutes=None):
        if minutes is not None:
            return [fake_budget_run(seed, accuracy[framework], minutes) for seed in range(runs)], []
        return [fake_run(seed, accuracy[framework], 120 + seed) for seed in range(runs)], []
    monkeypatch.setattr(classroom, "measure", measure)


def test_results_follow_the_contract_and_merge_per_framework(tmp_path, fake_training):
    assert classroom.main(["--framework", "torch", "--runs", "3", "--images", "640", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "classroom.json").read_text())
    assert set(data) == TOP_KEYS and data["target"] == {"test_acc": 0.85, "training_seconds": 300}
    assert {k: type(v) for k, v in data["preset"].items()} == PRESET_KEYS and data["preset"]["train_images"] == 640
    torch = data["frameworks"]["torch"]
    assert set(torch) == FRAMEWORK_KEYS and len(torch["runs"]) == 3 and torch["met"]
    assert all(set(run) == RUN_KEYS and len(run["curve"]) == 5 and all(len(p) == 4 for p in run["curve"])
               for run in torch["runs"])
    assert [run["seed"] for run in torch["runs"]] == [0, 1, 2]
    assert pathlib.Path(torch["curve_png"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    assert classroom.main(["--framework", "paddle", "--runs", "1", "--images", "640", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "classroom.json").read_text())
    assert set(data["frameworks"]) == {"torch", "paddle"}  # torch's earlier runs are kept
    assert data["frameworks"]["torch"] == torch and not data["frameworks"]["paddle"]["met"]
    summary = (tmp_path / "classroom.md").read_text()
    assert "| torch | 3 | 0.870–0.870 |" in summary and "| yes |" in summary
    assert "| paddle | 1 |" in summary and "no: best within 5 min 0.830" in summary
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def test_results_of_another_recipe_are_not_merged(tmp_path, fake_training):
    classroom.main(["--framework", "torch", "--runs", "1", "--images", "640", "--out", str(tmp_path)])
    classroom.main(["--framework", "paddle", "--runs", "1", "--images", "1280", "--out", str(tmp_path)])
    assert set(json.loads((tmp_path / "classroom.json").read_text())["frameworks"]) == {"paddle"}


def test_the_time_budget_runs_are_recorded_with_their_machine_and_judged_on_the_whole_cell(tmp_path, fake_training):
    assert classroom.main(["--minutes", "4", "--framework", "torch", "--runs", "3", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "classroom-budget.json").read_text())
    assert set(data) == {"date", "machine", "minutes", "target", "frameworks"} and data["minutes"] == 4
    assert {"family", "model", "isa"} <= set(data["machine"]) and data["target"]["cell_seconds"] == 300
    assert [r["seed"] for r in data["frameworks"]["torch"]["runs"]] == [0, 1, 2]
    assert classroom.main(["--minutes", "4", "--framework", "paddle", "--runs", "1", "--out", str(tmp_path)]) == 0
    table = (tmp_path / "classroom-budget.md").read_text()
    assert "| torch | 3 | graph | 20,000–20,128 | 0.870 | 4.0 min | 4.7 min | yes | yes |" in table
    assert "| paddle | 1 | graph | 20,000 | 0.830 | 4.0 min | 4.7 min | yes | no |" in table  # torch kept
    assert classroom.main(["--minutes", "5", "--framework", "paddle", "--runs", "1", "--out", str(tmp_path)]) == 0
    assert set(json.loads((tmp_path / "classroom-budget.json").read_text())["frameworks"]) == {"paddle"}
    assert not (tmp_path / "classroom.json").exists() and not list(tmp_path.glob(".*"))


@pytest.mark.parametrize("argv, message", [
    (["--framework", "tensorflw"], "unknown framework"),
    (["--runs", "0"], "--runs must be at least 1"),
    (["--images", "640"], "give --out FOLDER"),
    (["--minutes", "4", "--images", "640", "--out", "x"], "do not go together"),
    (["--minutes", "0"], "--minutes must be from 0.25 to 120"),
])
def test_bad_arguments_say_what_to_do(argv, message, capsys):
    with pytest.raises(SystemExit):
        classroom.main(argv)
    assert message in capsys.readouterr().err
