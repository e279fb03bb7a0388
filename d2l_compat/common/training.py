"""The training loop behind every framework's train_ch6, written once."""
import collections
import dataclasses
import math
import statistics
import time

from . import budget, fonts, modes, presets
from .animator import Animator
from .metrics import Accumulator, Timer


@dataclasses.dataclass
class TrainingSummary:
    """What one training run reached."""
    loss: float
    train_acc: float
    test_acc: float
    examples_per_sec: float
    seconds: float
    epochs: int
    device: str
    epoch_seconds: tuple = ()    # training time of each epoch (evaluation not included)
    data_on_device: bool = False  # the data set was kept on the device (common/resident.py)
    loss_curve: tuple = ()       # (epochs so far, mean training loss since the previous point)
    mode: str = ""               # the execution mode the run kept (common/modes.py); "" where there is one


class TrainingDivergedError(FloatingPointError):
    """The loss became NaN or infinite: training stopped there; the plot keeps what came before."""

    def _render_traceback_(self):  # IPython shows the message alone: the frames inside d2l_compat do not help
        return [f"{type(self).__name__}: {self}"]


def diverged_message(epoch, batch, lr, preset_active):
    """What happened and what to try, in Chinese and in English."""
    advice_zh = "把学习率 lr 调小（例如减半）再试" + ("" if preset_active else "，或先用 d2l.classroom_preset(True) 的课堂设置")
    advice_en = "try a lower lr (half, say)" + ("" if preset_active else ", or the classroom preset first")
    return (f"第 {epoch} 个迭代周期的第 {batch} 个批量之后，训练损失变成了 nan 或无穷大：模型发散了，训练已停止"
            f"（学习率 lr={lr:g}）。{advice_zh}。图中保留了发散之前的曲线。\n"
            f"The training loss became NaN or infinite after batch {batch} of epoch {epoch}: the model diverged "
            f"and training stopped (lr={lr:g}); {advice_en}. The plot keeps what was trained before.")


def result_lines(summary):
    """The two lines the book's train_ch6 prints, in its exact format."""
    return (f"loss {summary.loss:.3f}, train acc {summary.train_acc:.3f}, test acc {summary.test_acc:.3f}",
            f"{summary.examples_per_sec:.1f} examples/sec on {summary.device}")


def _format_duration(seconds):
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def _duration_zh(seconds):
    return f"{seconds / 60:.0f} 分钟" if seconds >= 90 else f"{seconds:.0f} 秒"


def _image_size(data_iter):
    images = getattr(data_iter, "images", None)
    return images.shape[-1] if images is not None else None


def _elapsed(timer):
    """The timer's recorded time plus the running stretch."""
    return timer.sum() + time.perf_counter() - timer.tik


CURVE_POINTS = 40  # training-loss points per epoch that a summary keeps (on a GPU: one per plot update)
HISTORY = collections.deque(maxlen=32)  # the summaries of this process's latest runs, newest last


class _Pacer:
    """Times the first steps for the mode trial (common/modes.py) and the time budget (common/budget.py);
    under a budget, sets the run's length and corrects it at every progress point."""

    def __init__(self, step, device_name, total_steps, preset, plan, framework):
        self.step, self.device_name, self.total_steps, self.plan = step, device_name, total_steps, plan
        self.framework = framework
        self.minutes = preset.minutes if preset is not None else None
        self.trial, self.times, self.planned_at, self.last = None, [], None, None
        self.limit = total_steps  # the steps this run takes; a budget changes it

    @property
    def timing(self):
        """True while steps must be timed one by one (a device that computes ahead must then wait)."""
        return (self.trial is not None and not self.trial.done) or (self.minutes is not None and self.planned_at is None)

    def before(self, k, X):
        if k == 0 and isinstance(self.step, modes.ModalStep):
            self.trial = modes.Trial(self.step, self.device_name, X.shape, self.total_steps,
                                     budget_seconds=self.minutes * 60 if self.minutes is not None else None)
        if self.trial is not None:
            self.trial.before(k)
        if self.last is None:
            self.last = time.perf_counter()

    def after(self, k, training_seconds, batch_size):
        now = time.perf_counter()
        seconds, self.last = now - self.last, now
        if self.trial is not None and not self.trial.done:
            self.trial.after(k, seconds, training_seconds)
        self.times.append(seconds)
        trial_over = self.trial is None or self.trial.done
        if self.minutes is not None and self.planned_at is None and trial_over and len(self.times) >= budget.PROBE_STEPS:
            measured = self.trial is not None and self.trial.measured  # else: this run's own first steps
            steady = self.trial.steady_seconds if measured else statistics.median(self.times[1:])
            self._plan(k + 1, training_seconds, steady)
            expected = training_seconds + (self.limit - k - 1) * steady
            print(budget.plan_line(self.minutes, self.limit * batch_size, self.limit, batch_size / steady, expected,
                                   self._mode_label(), budget.committed_points(self.framework)), flush=True)
            self.planned_at, self.planned_seconds = k + 1, training_seconds

    def _mode_label(self):
        return self.step.label() if isinstance(self.step, modes.ModalStep) else "默认模式"

    def _plan(self, done, training_seconds, step_seconds):
        self.limit = budget.planned_steps(done, training_seconds, self.minutes * 60, step_seconds, self.total_steps)
        if self.plan is not None and not self.plan.constant:
            self.plan.retarget(max(self.limit, 1))

    def over_budget(self, training_seconds):
        """True once a budget's training time is spent (the schedule's rate is then all but zero)."""
        return self.minutes is not None and self.planned_at is not None and training_seconds >= self.minutes * 60

    def correct(self, done, training_seconds):
        """At a progress point: measure the steps since the length was set, and keep to the budget."""
        if self.minutes is None or self.planned_at is None or done <= self.planned_at:
            return
        step_seconds = (training_seconds - self.planned_seconds) / (done - self.planned_at)
        limit = budget.planned_steps(done, training_seconds, self.minutes * 60, step_seconds, self.total_steps)
        if abs(limit - self.limit) > max(2, 0.02 * self.limit):
            self._plan(done, training_seconds, step_seconds)


def fit(step, evaluate, device_name, train_iter, test_iter, num_epochs, plan=None, on_progress=None):
    """Run the training loop.

    `step(X, y)` trains on one minibatch and returns (summed loss, correct predictions, examples);
    the first two may be framework scalars still on the device: they are added up there and read
    back only when the plot is updated (five times an epoch), so a GPU is not stalled every step.
    A step that can run in several modes (common/modes.ModalStep) is measured in each on the first
    batches, and the fastest is kept. `evaluate(test_iter)` returns the test accuracy. Prints the
    book's two result lines.
    Examples/sec counts the examples actually seen over the wall time of the training passes
    (data loading included, evaluation and plotting not).
    `plan` (common/schedule.py), the optimizer plan the step follows, is named in the preset's
    banner; a time-budget preset retargets it. `on_progress(seconds, examples, train_loss, train_acc)`,
    if given, is called at every read-back with the training time and examples so far; its own
    time is not counted.
    A NaN or infinite loss stops training with TrainingDivergedError (checked at every step on a
    CPU, where reading the loss costs nothing, and at every read-back on a GPU).
    """
    preset = presets.active_preset()
    framework = getattr(train_iter, "framework", None)
    if preset is not None:
        print(preset.banner(num_epochs, _image_size(train_iter), getattr(train_iter, "batch_size", "?"),
                            framework, plan))
        num_epochs = preset.epochs_for(framework)
    animator = Animator(xlabel=fonts.chinese('迭代周期', 'epoch'), xlim=[1, num_epochs] if num_epochs > 1 else [0, 1],
                        legend=fonts.chinese(['训练损失', '训练精度', '测试精度'], ['train loss', 'train acc', 'test acc']))
    timer, batches, seen, epoch_seconds = Timer(), len(train_iter), 0, []
    num_batches = batches  # the steps of this epoch: fewer where a time budget ends the run early
    pacer = _Pacer(step, device_name, batches * num_epochs, preset, plan, framework)
    on_cpu = "cpu" in device_name.lower()
    warn_cpu = preset is None and on_cpu
    curve, window, per_point = [], [0.0, 0], max(num_batches // CURVE_POINTS, 1)
    for epoch in range(num_epochs):
        metric, pending = Accumulator(3), [0, 0, 0]
        timer.start()
        for i, (X, y) in enumerate(train_iter):
            k = epoch * batches + i  # the step's number in the run
            if k >= pacer.limit:
                break
            pacer.before(k, X)
            out = step(X, y)
            pending = [a + b for a, b in zip(pending, out)]
            if pacer.timing:
                float(out[0])  # wait for the step: it is being timed
                pacer.after(k, _elapsed(timer), int(out[2]))
                num_batches = min(batches, pacer.limit - epoch * batches)
                per_point = max(num_batches // CURVE_POINTS, 1)
            last = i >= num_batches - 1 or pacer.over_budget(_elapsed(timer))
            if on_cpu:  # a point every few steps; on a GPU the read-backs below give them
                window = [window[0] + out[0], window[1] + out[2]]
                if (i + 1) % per_point == 0 or last:
                    curve.append((epoch + (i + 1) / num_batches, float(window[0]) / float(window[1])))
                    window = [0.0, 0]
            estimate = warn_cpu and i == min(4, num_batches - 1)
            read_back = estimate or (i + 1) % max(num_batches // 5, 1) == 0 or last
            if (on_cpu or read_back) and not math.isfinite(float(pending[0])):
                timer.stop()
                raise TrainingDivergedError(diverged_message(epoch + 1, i + 1, plan.lr if plan else float("nan"),
                                                             preset is not None))
            if read_back:
                if not on_cpu:
                    curve.append((epoch + (i + 1) / num_batches, float(pending[0]) / float(pending[2])))
                metric.add(*pending)  # the one read-back from the device
                pending = [0, 0, 0]
                timer.stop()
                pacer.correct(k + 1, timer.sum())
                num_batches = min(batches, pacer.limit - epoch * batches)
                train_l, train_acc = metric[0] / metric[2], metric[1] / metric[2]
                rate = (seen + metric[2]) / timer.sum()
                if estimate:
                    warn_cpu = False
                    total = num_batches * num_epochs * metric[2] / (i + 1) / rate
                    print(f"在 CPU 上按书中的训练设置训练约需 {_duration_zh(total)}。"
                          f"想先试一次短的，请在前面调用 d2l.classroom_preset(True)。", flush=True)
                else:
                    left = (num_epochs * num_batches - epoch * num_batches - i - 1) * metric[2] / (i + 1) / rate
                    animator.set_title(fonts.chinese(
                        f"第 {epoch + 1}/{num_epochs} 个迭代周期，每秒 {rate:.0f} 个样本，还需约 {_duration_zh(left)}",
                        f"epoch {epoch + 1}/{num_epochs}, {rate:.0f} examples/sec, about {_format_duration(left)} left"))
                    animator.add(epoch + (i + 1) / num_batches, (train_l, train_acc, None))
                    if on_progress is not None:
                        on_progress(timer.sum(), seen + metric[2], train_l, train_acc)
                timer.start()
            if last:
                break
        timer.stop()
        epoch_seconds.append(timer.sum() - sum(epoch_seconds))
        seen += metric[2]
        test_acc = evaluate(test_iter)
        animator.add(epoch + 1, (None, None, test_acc))
        if not animator.live:
            print(f"epoch {epoch + 1}/{num_epochs}: loss {train_l:.3f}, train acc {train_acc:.3f}, "
                  f"test acc {test_acc:.3f}", flush=True)
        if (epoch + 1) * batches >= pacer.limit:  # the budget's steps are done
            break
    mode = step.mode if isinstance(step, modes.ModalStep) and len(step.modes) > 1 else ""
    summary = TrainingSummary(train_l, train_acc, test_acc, seen / timer.sum(), timer.sum(),
                              len(epoch_seconds), device_name, tuple(epoch_seconds),
                              getattr(train_iter, "on_device", False), tuple(curve), mode)
    HISTORY.append(summary)
    for line in result_lines(summary):
        print(line)
    if preset is not None and preset.minutes is not None:
        print(budget.result_line(int(seen), timer.sum(), preset.minutes))
    return summary
