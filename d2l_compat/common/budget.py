"""The time-budget classroom preset: how many steps fit, and what accuracy they should reach.

train_ch6 measures its steps on this machine (common/modes.py), then trains the number of images that
fits the teacher's minutes; at each progress point it measures again and shortens or lengthens the
run (and its one-cycle schedule) to keep to the budget.
"""
import json
import math
import pathlib

RESULTS = pathlib.Path(__file__).resolve().parents[2] / "bench" / "results"
TARGET_ACC = 0.85
PROBE_STEPS = 4  # steps timed before the length is set when there is no mode to choose


def planned_steps(done_steps, elapsed_seconds, budget_seconds, step_seconds, max_steps):
    """The run's total number of steps, so that training ends within the budget: the steps done,
    plus as many as the time left holds at `step_seconds` each, at most `max_steps` in all."""
    if step_seconds <= 0:
        raise ValueError(f"a step takes a positive time, got {step_seconds!r}")
    left = max(budget_seconds - elapsed_seconds, 0.0)
    return max(done_steps, min(max_steps, done_steps + int(left // step_seconds)))


def committed_points(framework, results=RESULTS):
    """(training images, test accuracy) measured for `framework` with a fixed image count, from the
    committed results: ResNet-18 at 12,000 images (exercise 6, continued) and the classroom runs at
    36,000 (their mean). Empty where the results are not there."""
    points = {}
    try:
        degradation = json.loads((results / "degradation.json").read_text("utf-8"))
        entry = degradation["frameworks"][framework]
        points[int(entry["preset"]["train_images"])] = entry["runs"]["ResNet-18"]["test_acc"]
    except (OSError, KeyError, ValueError):
        pass
    try:
        classroom = json.loads((results / "classroom.json").read_text("utf-8"))
        runs = classroom["frameworks"][framework]["runs"]
        points[int(classroom["preset"]["train_images"])] = sum(r["test_acc"] for r in runs) / len(runs)
    except (OSError, KeyError, ValueError, ZeroDivisionError):
        pass
    return sorted(points.items())


def expected_accuracy(points, images):
    """The test accuracy expected after `images` training images: interpolated in log(images) between
    the committed points; at the ends, the nearest point's (with `below` True under the lowest).
    Returns (accuracy, below), or None without points."""
    if not points:
        return None
    if images <= points[0][0]:
        return points[0][1], images < points[0][0]
    for (n0, a0), (n1, a1) in zip(points, points[1:]):
        if images <= n1:
            t = (math.log(images) - math.log(n0)) / (math.log(n1) - math.log(n0))
            return a0 + t * (a1 - a0), False
    return points[-1][1], False


def images_for(points, accuracy):
    """The fewest training images that the committed points expect to reach `accuracy`, or None."""
    for (n0, a0), (n1, a1) in zip(points, points[1:]):
        if a0 < accuracy <= a1:
            t = (accuracy - a0) / (a1 - a0)
            return math.ceil(math.exp(math.log(n0) + t * (math.log(n1) - math.log(n0))))
    if points and points[0][1] >= accuracy:
        return points[0][0]
    return None


def duration_zh(seconds):
    """A duration for the learner: '3 分 20 秒', '45 秒'."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} 秒"
    return f"{seconds // 60} 分钟" if seconds % 60 == 0 else f"{seconds // 60} 分 {seconds % 60} 秒"


def plan_line(minutes, images, steps, images_per_second, expected_seconds, mode_label, points):
    """What the preset says once it has measured: images, mode, expected time, and, where the
    committed results expect less than TARGET_ACC from so few images, that and what would reach it."""
    line = (f"本机每秒约训练 {images_per_second:.0f} 张图像（{mode_label}）：{minutes:g} 分钟内可训练 {images} 张图像"
            f"（{steps} 个批量），预计训练用时 {duration_zh(expected_seconds)}。")
    expected = expected_accuracy(points, images)
    if expected is not None and expected[0] < TARGET_ACC:
        accuracy, below = expected
        needed = images_for(points, TARGET_ACC)
        line += (f"按项目里已有的实测结果（bench/results/），训练这么多图像，测试精度预计{'不到' if below else '约为'} "
                 f"{math.floor(accuracy * 1000) / 1000:.3f}，可能达不到 {TARGET_ACC}")
        if needed is not None:
            more = math.ceil(needed / images * minutes)
            line += (f"；约需 {round(needed, -2)} 张图像，在这台电脑上约需 {more} 分钟，"
                     f"可改用 d2l.classroom_preset(True, minutes={more})")
        line += "。"
    return line


def result_line(images, seconds, minutes):
    """The line after the book's two: how many images the budget trained and how long it took."""
    return f"课堂模式：训练了 {images} 张图像，训练用时 {duration_zh(seconds)}（预算 {minutes:g} 分钟）。"
