"""Run presets that shrink the documents' recipe without changing the notebooks' code.

- smoke (environment variable D2L_COMPAT_SMOKE=1): 64 training and 64 test images, one epoch; for tests and CI.
- classroom (`d2l.classroom_preset(True)` in a notebook): one recipe for all five frameworks, small
  enough for a 2-core laptop CPU: training images at their native 28x28, in batches of 64, one pass,
  SGD with momentum and a one-cycle learning rate peaking at the notebook's lr (common/schedule.py),
  tested on all 10,000 test images. How many training images is set by a time budget
  (`minutes`, default DEFAULT_MINUTES of training): train_ch6 measures this machine's speed on the
  first batches and trains as many images as fit (common/budget.py). `classroom_preset(True,
  images=N)` fixes the count instead, for comparable measurements: `make bench-classroom` trains
  CLASSROOM_IMAGES (bench/results/classroom.json), the time budget is bench/results/classroom-budget.json.
The smoke preset wins when both are asked for, so CI never runs a long job.
"""
import dataclasses
import os

from . import schedule

SMOKE_ENV = "D2L_COMPAT_SMOKE"


@dataclasses.dataclass(frozen=True)
class Preset:
    name: str
    train_size: int          # first N training images (Fashion-MNIST's order is already mixed)
    test_size: int           # first N test images
    num_epochs: int
    resize: object = "keep"  # "keep" the caller's resize, or an int / None to override it
    batch_size: int = None   # None keeps the caller's batch size
    epochs_by_framework: tuple = ()  # (framework, epochs) pairs that differ from num_epochs
    cycle: schedule.OneCycle = None  # None: the documents' plain SGD at a constant rate
    minutes: float = None    # a time budget for training: train_size is then the most it may train

    def epochs_for(self, framework):
        """The number of epochs this preset trains `framework` for."""
        return dict(self.epochs_by_framework).get(framework, self.num_epochs)

    def banner(self, num_epochs, resize, batch_size, framework=None, plan=None):
        """What train_ch6 prints, in Chinese, when it trains under this preset (`plan`: the optimizer's)."""
        size = resize or 28
        epochs = self.epochs_for(framework)
        name = PRESET_NAMES_ZH.get(self.name, self.name)
        if self.minutes is not None:
            what = (f"训练 {self.minutes:g} 分钟：先用最初几个批量测出本机的速度，再决定训练多少张图像"
                    f"（最多 {self.train_size} 张，1 个迭代周期，代替 {num_epochs} 个），图像 {size}×{size}，批量大小 {batch_size}")
            optimizer = f"；{plan.describe_zh(steps=False)}" if plan is not None and not plan.constant else ""
        else:
            what = (f"用前 {self.train_size} 张训练图像训练 {epochs} 个迭代周期（代替 {num_epochs} 个），"
                    f"图像 {size}×{size}，批量大小 {batch_size}")
            optimizer = f"；{plan.describe_zh()}" if plan is not None and not plan.constant else ""
        how_back = (f"取消环境变量 {SMOKE_ENV} 即可正式训练" if self.name == "smoke"
                    else "改回书中的训练设置：d2l.classroom_preset(False)")
        line = f"[{name}] {what}{optimizer}；在 {self.test_size} 张测试图像上测试。{how_back}。"
        if self.name == "classroom" and size < 96:
            line += ("\n为什么用 28×28：书中把图像放大到 96×96，是为了让最后一个模块的特征图不至于缩得太小；"
                     f"{size}×{size} 时它只剩 1×1，但每张图的计算量只有 96×96 时的约 1/{round((96 / size) ** 2)}，"
                     "一节课里就能训练完。")
        return line



PRESET_NAMES_ZH = {"classroom": "课堂模式", "smoke": "冒烟测试"}


SMOKE = Preset("smoke", train_size=64, test_size=64, num_epochs=1)
CLASSROOM_IMAGES = 36000
CLASSROOM = Preset("classroom", train_size=CLASSROOM_IMAGES, test_size=10000, num_epochs=1, resize=None,
                   batch_size=64, cycle=schedule.OneCycle(momentum=0.9, warmup=0.3))
DEFAULT_MINUTES = 4     # of training: a lesson's share, with loading and the final test within a minute more
TRAINING_IMAGES = 60000  # Fashion-MNIST's training set: the most a time budget can train in one pass

_chosen = {"classroom": None}  # the classroom preset in force, or None


def smoke_mode():
    """True when the environment asks for a smoke run."""
    return os.environ.get(SMOKE_ENV, "").strip().lower() not in ("", "0", "false", "no", "off")


def classroom_preset(on=True, images=None, minutes=None):
    """Switch the classroom preset on or off for the loaders and train_ch6 that follow.

    By default it trains for `minutes` (DEFAULT_MINUTES) on this machine: train_ch6 measures the
    speed and picks the number of training images. `images` fixes that number instead (exercises 4
    and 6 compare nets on equal images; `make bench-classroom` measures CLASSROOM_IMAGES).
    """
    if not isinstance(on, bool):
        raise TypeError(f"classroom_preset takes True or False, got {on!r}")
    if images is not None and (isinstance(images, bool) or not isinstance(images, int)
                               or not 0 < images <= TRAINING_IMAGES):
        raise ValueError(f"classroom_preset: images must be a whole number from 1 to {TRAINING_IMAGES} "
                         f"(Fashion-MNIST's training set), got {images!r}")
    if minutes is not None and (isinstance(minutes, bool) or not isinstance(minutes, (int, float))
                                or not 0.25 <= minutes <= 120):
        raise ValueError(f"classroom_preset: minutes must be a number from 0.25 to 120 (minutes of training), "
                         f"got {minutes!r}")
    if not on and (images is not None or minutes is not None):
        raise ValueError("classroom_preset(False) takes neither images nor minutes: the documents' recipe trains "
                         "all 60000 images for 10 epochs")
    if images is not None and minutes is not None:
        raise ValueError("classroom_preset: give images (a fixed number of training images) or minutes (a time "
                         "budget), not both")
    if not on:
        _chosen["classroom"] = None
    elif images is not None:
        _chosen["classroom"] = dataclasses.replace(CLASSROOM, train_size=images)
    else:
        _chosen["classroom"] = dataclasses.replace(CLASSROOM, train_size=TRAINING_IMAGES,
                                                   minutes=minutes if minutes is not None else DEFAULT_MINUTES)


def test_on_first(count):
    """Make the classroom preset in force test on the first `count` test images only (a short check's)."""
    if _chosen["classroom"] is None:
        raise ValueError("test_on_first: switch the classroom preset on first")
    _chosen["classroom"] = dataclasses.replace(_chosen["classroom"], test_size=count)


def active_preset():
    """The preset in force now, or None for the documents' recipe."""
    if smoke_mode():
        return SMOKE
    return _chosen["classroom"]


def effective_resize(resize):
    """The resize a loader should use under the active preset."""
    preset = active_preset()
    return resize if preset is None or preset.resize == "keep" else preset.resize


def effective_batch_size(batch_size):
    """The batch size a loader should use under the active preset."""
    preset = active_preset()
    return batch_size if preset is None or preset.batch_size is None else preset.batch_size


def describe_zh(preset, lr):
    """One Chinese sentence saying what `preset` (one with a cycle) trains, with the notebook's `lr` as peak."""
    cycle, size = preset.cycle, preset.resize or 28
    return (f"课堂模式用 {preset.train_size} 张 {size}×{size} 的训练图像训练 1 个迭代周期（批量大小 {preset.batch_size}），"
            f"优化器是动量为 {cycle.momentum:g} 的 SGD，学习率按单周期（one-cycle）变化：在前 {cycle.warmup:.0%} 的步数里"
            f"从 {cycle.start * lr:g} 升到 {lr:g}，再沿余弦降到 0，最后在全部 {preset.test_size} 张测试图像上测试。")


def training_plan(lr, train_iter, num_epochs):
    """The optimizer plan (common/schedule.py) train_ch6 follows under the active preset.

    Without a preset, or with one that has no cycle, it is the documents' plain SGD at `lr`.
    """
    preset = active_preset()
    if preset is None or preset.cycle is None:
        return schedule.constant(lr)
    epochs = preset.epochs_for(getattr(train_iter, "framework", None))
    return schedule.Plan(lr, epochs * len(train_iter), preset.cycle)
