"""train_ch6's mode chooser and the time-budget classroom preset, on faked step times (no framework)."""
import itertools

import pytest

from d2l_compat.common import budget, modes, presets, training

MODES = (modes.Mode("graph", "计算图"), modes.Mode("xla", "XLA 编译"))


def test_the_fastest_mode_wins_when_the_run_is_long():
    timings = {"graph": modes.Timing(first=2.0, steady=1.85), "xla": modes.Timing(first=6.8, steady=0.79)}
    assert modes.choose(timings, remaining_steps=550) == "xla"


def test_compile_time_counts_against_a_short_run():
    timings = {"graph": modes.Timing(first=2.0, steady=1.0), "xla": modes.Timing(first=30.0, steady=0.5)}
    assert timings["xla"].compile == 29.5
    assert modes.choose(timings, remaining_steps=50) == "graph"   # 50 s against 29.5 + 25 s
    assert modes.choose(timings, remaining_steps=70) == "xla"     # 70 s against 29.5 + 35 s


def test_a_tie_keeps_the_default_and_the_choice_depends_only_on_the_timings():
    timings = {"graph": modes.Timing(1.0, 1.0), "xla": modes.Timing(1.0, 1.0)}
    assert modes.choose(timings, 100) == "graph"
    assert modes.choose(dict(reversed(list(timings.items()))), 100) == "xla"  # the earlier tried wins
    assert {modes.choose(timings, 100) for _ in range(20)} == {"graph"}


def test_a_trial_takes_the_median_after_the_first_step():
    assert modes.timing([5.0, 1.0, 3.0, 1.2]) == modes.Timing(5.0, 1.2)
    with pytest.raises(ValueError, match="at least two steps"):
        modes.timing([1.0])


def test_train_mode_fixes_a_mode_or_says_which_exist():
    train_mode = modes.train_mode_function("fake", MODES)
    try:
        train_mode("xla")
        assert modes.fixed_mode("fake") == "xla"
        with pytest.raises(ValueError, match=r"'jit' is not a mode of fake; choose 'auto' or one of 'graph'"):
            train_mode("jit")
        assert modes.fixed_mode("fake") == "xla"  # unchanged by the bad call
        train_mode("auto")
        assert modes.fixed_mode("fake") is None
    finally:
        train_mode("auto")


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class FakeBatch:
    shape = (64, 1, 28, 28)


class FakeIter:
    framework, batch_size = "fake", 64

    def __init__(self, batches):
        self.batches = batches

    def __len__(self):
        return self.batches

    def __iter__(self):
        return ((FakeBatch(), None) for _ in range(self.batches))


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(training.time, "perf_counter", fake)
    monkeypatch.setattr("d2l_compat.common.metrics.time.perf_counter", fake)
    monkeypatch.delenv(presets.SMOKE_ENV, raising=False)
    modes.forget()
    yield fake
    modes.forget()
    presets.classroom_preset(False)


def fake_step(clock, seconds, compile_seconds=None, calls=None):
    """A ModalStep whose steps take `seconds[mode]` on the fake clock (the first in a mode also
    `compile_seconds[mode]`)."""
    compile_seconds, started = compile_seconds or {}, set()

    def run(mode, X, y):
        clock.now += seconds[mode] + (0 if mode in started else compile_seconds.get(mode, 0.0))
        started.add(mode)
        if calls is not None:
            calls.append(mode)
        return 1.0 * 64, 32, 64
    return modes.ModalStep("fake", MODES, run)


def test_train_ch6_times_each_mode_on_the_first_batches_then_keeps_the_fastest(clock, capsys):
    calls = []
    step = fake_step(clock, {"graph": 1.85, "xla": 0.79}, {"xla": 6.0}, calls)
    summary = training.fit(step, lambda it: 0.5, "cpu", FakeIter(300), FakeIter(1), 1)
    assert calls[:8] == ["graph"] * 4 + ["xla"] * 4 and set(calls[8:]) == {"xla"} and len(calls) == 300
    assert summary.mode == "xla"
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("执行模式"))
    assert "计算图 1850 毫秒" in line and "XLA 编译 790 毫秒（第一步另需 6.0 秒编译）" in line
    assert line.endswith("按剩下的 292 步估算，选用 XLA 编译（想固定某一种，可调用 d2l.train_mode）。")


def test_the_choice_is_kept_for_the_same_shape_and_a_fixed_mode_is_obeyed(clock, capsys):
    step = fake_step(clock, {"graph": 1.0, "xla": 2.0})
    training.fit(step, lambda it: 0.5, "cpu", FakeIter(300), FakeIter(1), 1)
    calls = []
    training.fit(fake_step(clock, {"graph": 1.0, "xla": 2.0}, calls=calls), lambda it: 0.5, "cpu", FakeIter(300),
                 FakeIter(1), 1)
    assert set(calls) == {"graph"} and "沿用本进程" in capsys.readouterr().out
    train_mode = modes.train_mode_function("fake", MODES)
    train_mode("xla")
    try:
        calls.clear()
        training.fit(fake_step(clock, {"graph": 1.0, "xla": 2.0}, calls=calls), lambda it: 0.5, "cpu",
                     FakeIter(300), FakeIter(1), 1)
        assert set(calls) == {"xla"} and "由 d2l.train_mode 指定" in capsys.readouterr().out
    finally:
        train_mode("auto")


@pytest.mark.parametrize("steps", [1, 3, modes.MIN_STEPS_PER_TRIAL * modes.TRIAL_STEPS * len(MODES) - 1])
def test_a_run_too_short_to_measure_keeps_the_default_silently(clock, capsys, steps):
    calls = []
    training.fit(fake_step(clock, {"graph": 1.0, "xla": 0.1}, calls=calls), lambda it: 0.5, "cpu", FakeIter(steps),
                 FakeIter(1), 1)
    assert calls == ["graph"] * steps and "执行模式" not in capsys.readouterr().out


@pytest.mark.parametrize("minutes, seconds", [(1, {"graph": 0.5, "xla": 0.25}), (4, {"graph": 1.9, "xla": 3.0}),
                                              (2, {"graph": 0.02, "xla": 0.03})])
def test_the_time_budget_sets_the_image_count_so_that_training_ends_in_time(clock, capsys, minutes, seconds):
    presets.classroom_preset(True, minutes=minutes)
    plan = presets.training_plan(0.05, FakeIter(938), 10)
    calls = []
    summary = training.fit(fake_step(clock, seconds, calls=calls), lambda it: 0.5, "cpu", FakeIter(938),
                           FakeIter(1), 10, plan=plan)
    budget_seconds, slowest = minutes * 60, max(seconds.values())
    assert summary.seconds <= budget_seconds + 1e-9
    fast = min(seconds.values())
    expected_steps = min(938, int(budget_seconds / fast))
    assert abs(len(calls) - expected_steps) <= 8 * slowest / fast + 1  # the trial's slower steps
    assert plan.total_steps == len(calls) and summary.epochs == 1  # the one-cycle schedule ends with the run
    out = capsys.readouterr().out
    assert f"{minutes:g} 分钟内可训练 " in out and f"训练了 {len(calls) * 64} 张图像" in out and f"预算 {minutes:g} 分钟" in out


def test_a_run_slower_than_its_trial_is_shortened_to_keep_the_budget(clock):
    presets.classroom_preset(True, minutes=2)
    plan = presets.training_plan(0.05, FakeIter(938), 1)
    count = itertools.count()

    def run(mode, X, y):
        clock.now += 0.2 if next(count) < 40 else 0.6  # three times slower after the first 40 steps
        return 64.0, 32, 64
    summary = training.fit(modes.ModalStep("fake", MODES[:1], run), lambda it: 0.5, "cpu", FakeIter(938),
                           FakeIter(1), 1, plan=plan)
    assert summary.seconds <= 2 * 60 + 0.6  # corrected at the progress points, and stopped when the time is spent
    assert plan.total_steps < 2 * 60 / 0.2  # the trial's speed alone would have planned 600 steps


def test_the_budget_arithmetic():
    assert budget.planned_steps(4, 2.0, 60.0, 0.5, 938) == 4 + 116
    assert budget.planned_steps(4, 70.0, 60.0, 0.5, 938) == 4  # over budget already: stop now
    assert budget.planned_steps(4, 2.0, 6000.0, 0.5, 938) == 938  # the data set is the limit
    with pytest.raises(ValueError, match="positive time"):
        budget.planned_steps(4, 2.0, 60.0, 0.0, 938)


def test_the_expected_accuracy_interpolates_the_committed_points_and_names_what_reaches_the_target():
    points = [(12000, 0.79), (36000, 0.866)]
    assert budget.expected_accuracy(points, 36000) == (0.866, False)
    assert budget.expected_accuracy(points, 20000)[0] == pytest.approx(0.79 + 0.076 * 0.46497, abs=1e-4)
    assert budget.expected_accuracy(points, 6000) == (0.79, True)  # below the lowest point: "under 0.79"
    assert budget.expected_accuracy(points, 60000) == (0.866, False)
    assert budget.expected_accuracy([], 6000) is None
    needed = budget.images_for(points, 0.85)
    assert 12000 < needed < 36000 and budget.expected_accuracy(points, needed)[0] == pytest.approx(0.85, abs=1e-4)
    line = budget.plan_line(4, 20000, 313, 91.4, 235.0, "XLA", points)
    assert "每秒约训练 91 张图像（XLA）：4 分钟内可训练 20000 张图像（313 个批量），预计训练用时 3 分 55 秒" in line
    assert "测试精度预计约为 0.825，可能达不到 0.85" in line and f"约需 {round(needed, -2)} 张图像" in line
    assert "测试精度预计不到 0.790" in budget.plan_line(4, 6000, 94, 91.4, 235.0, "XLA", points)
    assert budget.duration_zh(240) == "4 分钟" and budget.duration_zh(239.6) == "4 分钟" and budget.duration_zh(59) == "59 秒"
    assert "可改用 d2l.classroom_preset(True, minutes=" in line
    assert "达不到" not in budget.plan_line(4, 40000, 625, 200.0, 230.0, "XLA", points)
    near = budget.images_for(points, 0.8497)  # 0.8497 must not read as "约 0.85 ..., 达不到 0.85"
    assert "约为 0.850" not in budget.plan_line(4, near, 400, 100.0, 230.0, "XLA", points)


def test_the_committed_points_are_read_for_every_framework():
    for framework in ("torch", "tensorflow", "mxnet", "paddle", "mindspore"):
        points = budget.committed_points(framework)
        assert [n for n, _ in points] == [12000, presets.CLASSROOM_IMAGES], framework
        assert all(0.1 < acc < 1 for _, acc in points)


def test_under_a_budget_compile_time_is_weighed_against_the_steps_the_budget_leaves(clock, capsys):
    # 938 steps of data, but one minute at 0.5 s a step leaves about 100: a 30 s compile does not pay there
    presets.classroom_preset(True, minutes=1)
    plan = presets.training_plan(0.05, FakeIter(938), 1)
    step = fake_step(clock, {"graph": 0.5, "xla": 0.3}, {"xla": 30.0})
    summary = training.fit(step, lambda it: 0.5, "cpu", FakeIter(938), FakeIter(1), 1, plan=plan)
    assert summary.mode == "graph", capsys.readouterr().out
