"""The optimizer plan train_ch6 follows (common/schedule.py) and how the presets announce it."""
import math

import pytest

from d2l_compat.common import presets, schedule


def test_one_cycle_rises_linearly_to_the_peak_then_falls_along_a_cosine_to_zero():
    cycle, peak, total = schedule.OneCycle(momentum=0.9, warmup=0.3, start=0.04), 0.05, 100
    rates = [cycle.rate(peak, step, total) for step in range(total + 1)]
    assert rates[0] == pytest.approx(0.002)
    assert rates[15] == pytest.approx(0.002 + (0.05 - 0.002) * 15 / 30)  # halfway up, on the line
    assert max(rates) == pytest.approx(peak) and rates.index(max(rates)) == 30
    assert rates[65] == pytest.approx(peak * 0.5 * (1 + math.cos(math.pi * 35 / 70)))  # halfway down: peak / 2
    assert rates[100] == 0.0 and 0 < rates[99] < 0.001
    assert all(a < b for a, b in zip(rates[:30], rates[1:31]))
    assert all(a > b for a, b in zip(rates[30:100], rates[31:101]))


def test_a_plan_gives_one_rate_per_step_and_then_keeps_the_last():
    plan = schedule.Plan(0.05, 10, schedule.OneCycle())
    rates = plan.rates()
    first = [next(rates) for _ in range(10)]
    assert first == [plan.rate(k) for k in range(10)]
    assert [next(rates) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert plan.momentum == 0.9 and not plan.constant


def test_the_documents_recipe_is_plain_sgd_at_a_constant_rate():
    plan = schedule.constant(0.05)
    rates = plan.rates()
    assert [next(rates) for _ in range(1000)] == [0.05] * 1000
    assert plan.momentum == 0.0 and plan.constant and plan.describe() == "SGD, learning rate 0.05"


def test_follow_sets_the_rate_before_every_step_only_when_it_changes():
    applied = []
    advance = schedule.Plan(0.05, 4, schedule.OneCycle(warmup=0.5)).follow(applied.append)
    for _ in range(6):
        advance()
    plan = schedule.Plan(0.05, 4, schedule.OneCycle(warmup=0.5))
    assert applied == [plan.rate(0), plan.rate(1), plan.rate(2), plan.rate(3), 0.0]  # then 0.0 stays 0.0
    constant = []
    advance = schedule.constant(0.1).follow(constant.append)
    for _ in range(5):
        advance()
    assert constant == [0.1]


class FakeIter:
    framework, batch_size = "torch", 64

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return math.ceil(self.n / self.batch_size)


@pytest.fixture
def no_preset(monkeypatch):
    monkeypatch.delenv(presets.SMOKE_ENV, raising=False)
    presets.classroom_preset(False)
    yield
    presets.classroom_preset(False)


def test_training_plan_is_the_documents_sgd_without_a_preset_and_the_cycle_with_the_classroom_one(no_preset):
    assert presets.training_plan(0.05, FakeIter(60000), 10) == schedule.constant(0.05)
    presets.classroom_preset(True, images=presets.CLASSROOM_IMAGES)
    plan = presets.training_plan(0.05, FakeIter(presets.CLASSROOM.train_size), 10)
    assert plan.cycle == presets.CLASSROOM.cycle and plan.lr == 0.05  # the notebook's lr is the peak
    assert plan.total_steps == math.ceil(presets.CLASSROOM.train_size / 64) * presets.CLASSROOM.num_epochs


def test_smoke_preset_keeps_the_documents_optimizer(monkeypatch):
    monkeypatch.setenv(presets.SMOKE_ENV, "1")
    assert presets.training_plan(0.05, FakeIter(512), 10).constant


def test_classroom_is_one_recipe_for_every_framework():
    assert presets.CLASSROOM.epochs_by_framework == ()
    assert {presets.CLASSROOM.epochs_for(fw) for fw in ("torch", "tensorflow", "mxnet", "paddle", "mindspore")} == {1}
    assert presets.CLASSROOM.resize is None and presets.CLASSROOM.test_size == 10000


def test_classroom_banner_announces_the_image_count_and_the_schedule():
    c = presets.CLASSROOM
    plan = schedule.Plan(0.05, math.ceil(c.train_size / c.batch_size), c.cycle)
    text = c.banner(10, None, 64, "paddle", plan)
    line, why = text.split("\n")
    assert line.startswith("[课堂模式]")
    for part in (f"前 {c.train_size} 张训练图像", "训练 1 个迭代周期（代替 10 个）", "28×28", "批量大小 64",
                 "动量为 0.9", "单周期", "升到 0.05", f"在 {plan.total_steps} 步的前 30%", "降到 0",
                 "10000 张测试图像", "d2l.classroom_preset(False)"):
        assert part in line, (part, line)
    assert why.startswith("为什么用 28×28") and "1×1" in why and "1/12" in why  # (96/28)^2 = 11.8


def test_smoke_banner_names_no_schedule():
    line = presets.SMOKE.banner(10, 96, 256, "torch", schedule.constant(0.05))
    assert line.startswith("[冒烟测试]") and "单周期" not in line and "动量" not in line
    assert "取消环境变量 D2L_COMPAT_SMOKE" in line and "\n" not in line


def test_the_chinese_description_states_the_recipe():
    text = presets.describe_zh(presets.CLASSROOM, 0.05)
    for part in (str(presets.CLASSROOM.train_size), "28×28", "批量大小 64", "动量为 0.9", "0.002", "0.05", "30%", "10000"):
        assert part in text, (part, text)
    assert text.endswith("。") and text.count("。") == 1


def test_the_classroom_preset_can_take_fewer_images(no_preset):
    presets.classroom_preset(True, images=12000)
    preset = presets.active_preset()
    assert preset.train_size == 12000 and preset.cycle == presets.CLASSROOM.cycle
    assert "用前 12000 张训练图像" in preset.banner(10, None, 64)
    presets.classroom_preset(True, images=presets.CLASSROOM_IMAGES)
    assert presets.active_preset() == presets.CLASSROOM
    presets.classroom_preset(False)
    assert presets.active_preset() is None


@pytest.mark.parametrize("images", [0, 60001, 1.5, True, "12000"])
def test_an_impossible_image_count_says_what_is_allowed(no_preset, images):
    with pytest.raises(ValueError, match="whole number from 1 to 60000"):
        presets.classroom_preset(True, images=images)
    assert presets.active_preset() is None  # nothing half-set


def test_the_documents_recipe_takes_no_image_count(no_preset):
    with pytest.raises(ValueError, match="takes neither images nor minutes"):
        presets.classroom_preset(False, images=100)
    with pytest.raises(ValueError, match="takes neither images nor minutes"):
        presets.classroom_preset(False, minutes=4)


def test_the_classroom_switch_is_a_time_budget_of_a_lessons_minutes(no_preset):
    presets.classroom_preset(True)
    preset = presets.active_preset()
    assert preset.minutes == presets.DEFAULT_MINUTES and preset.train_size == presets.TRAINING_IMAGES
    assert preset.cycle == presets.CLASSROOM.cycle and preset.batch_size == 64 and preset.num_epochs == 1
    presets.classroom_preset(True, minutes=2.5)
    plan = presets.training_plan(0.05, FakeIter(60000), 10)
    line = presets.active_preset().banner(10, None, 64, "torch", plan).split("\n")[0]
    for part in ("训练 2.5 分钟", "测出本机的速度", "最多 60000 张", "批量大小 64", "单周期", "全部步数的前 30%"):
        assert part in line, (part, line)


@pytest.mark.parametrize("minutes", [0, 0.1, 121, True, "4"])
def test_an_impossible_budget_says_what_is_allowed(no_preset, minutes):
    with pytest.raises(ValueError, match="minutes must be a number from 0.25 to 120"):
        presets.classroom_preset(True, minutes=minutes)
    assert presets.active_preset() is None


def test_images_and_minutes_do_not_go_together(no_preset):
    with pytest.raises(ValueError, match="not both"):
        presets.classroom_preset(True, images=12000, minutes=4)


def test_a_retargeted_plan_is_followed_from_the_step_it_has_reached():
    plan, applied = schedule.Plan(0.05, 100, schedule.OneCycle()), []
    advance = plan.follow(applied.append)
    for _ in range(10):
        advance()
    plan.retarget(20)
    for _ in range(12):
        advance()
    assert applied[:10] == [schedule.Plan(0.05, 100, schedule.OneCycle()).rate(k) for k in range(10)]
    short = schedule.Plan(0.05, 20, schedule.OneCycle())
    assert applied[10:] == [short.rate(k) for k in range(10, 21)]  # then 0.0, applied once
    with pytest.raises(ValueError, match="at least one step"):
        plan.retarget(0)
