"""The learning rate at every training step, decided once for all five frameworks.

The documents' recipe is plain SGD at a constant rate. The classroom preset trains far fewer images,
so it learns more from each: SGD with momentum and a one-cycle schedule that warms up to the
notebook's rate and then anneals to zero. Each framework module applies a `Plan` in its own optimizer
(`momentum` once, `rates()` one value per step).
"""
import dataclasses
import itertools
import math


@dataclasses.dataclass(frozen=True)
class OneCycle:
    """Rise linearly from `start` x peak to the peak over the first `warmup` share of the steps,
    then fall along a half cosine to zero; SGD with `momentum` throughout."""
    momentum: float = 0.9
    warmup: float = 0.3
    start: float = 0.04

    def rate(self, peak, step, total_steps):
        """The learning rate at `step` (0-based) of `total_steps`; zero after the last step."""
        rising = max(1, round(self.warmup * total_steps))
        if step < rising:
            return peak * (self.start + (1 - self.start) * step / rising)
        falling = max(1, total_steps - rising)
        progress = min(1.0, (step - rising) / falling)
        return peak * 0.5 * (1 + math.cos(math.pi * progress))

    def describe(self, peak, total_steps):
        """One phrase for the banner, e.g. 'SGD with momentum 0.9, one-cycle learning rate (...)'."""
        return (f"SGD with momentum {self.momentum:g}, one-cycle learning rate ({self.start * peak:g} "
                f"rising to {peak:g} over the first {self.warmup:.0%} of the {total_steps} steps, "
                "then falling to 0)")


    def describe_zh(self, peak, total_steps=None):
        """The same phrase in Chinese, for the banner the learner reads (`total_steps` None: not yet known)."""
        steps = f" {total_steps} 步的" if total_steps is not None else "全部步数的"
        return (f"优化器是动量为 {self.momentum:g} 的 SGD，学习率按单周期（one-cycle）变化：在{steps}"
                f"前 {self.warmup:.0%} 里从 {self.start * peak:g} 升到 {peak:g}，再沿余弦降到 0")


@dataclasses.dataclass
class Plan:
    """What train_ch6's optimizer does: SGD at `lr` (a constant, or the peak of `cycle`) for `total_steps`."""
    lr: float
    total_steps: int
    cycle: OneCycle = None

    @property
    def momentum(self):
        """The SGD momentum: 0 for the documents' plain SGD."""
        return self.cycle.momentum if self.cycle else 0.0

    @property
    def constant(self):
        """True when the rate never changes (the documents' recipe)."""
        return self.cycle is None

    def rate(self, step):
        """The learning rate at `step` (0-based)."""
        return self.lr if self.cycle is None else self.cycle.rate(self.lr, step, self.total_steps)

    def rates(self):
        """An endless iterator of the rate at each step (the last one repeats after `total_steps`)."""
        planned = (self.rate(step) for step in range(self.total_steps))
        return itertools.chain(planned, itertools.repeat(self.rate(self.total_steps)))

    def follow(self, apply):
        """A function to call before every step: it moves to the step's rate and passes it to
        `apply(rate)` (the framework's own way of setting its optimizer's rate) when it changes.
        It reads the plan at every step, so a plan retargeted mid-run (`retarget`) is followed."""
        step, current = [0], [None]

        def advance():
            rate = self.rate(step[0])
            step[0] += 1
            if rate != current[0]:
                apply(rate)
                current[0] = rate
        return advance

    def retarget(self, total_steps):
        """Make the schedule end after `total_steps` steps instead (the time-budget classroom preset
        sets the length once it has measured the speed); the steps already taken keep their rates."""
        if not isinstance(total_steps, int) or total_steps < 1:
            raise ValueError(f"a plan needs at least one step, got {total_steps!r}")
        self.total_steps = total_steps

    def describe(self):
        """The optimizer and its schedule, in words."""
        if self.cycle is None:
            return f"SGD, learning rate {self.lr:g}"
        return self.cycle.describe(self.lr, self.total_steps)

    def describe_zh(self, steps=True):
        """The optimizer and its schedule, in Chinese (`steps` False: the length is not known yet)."""
        if self.cycle is None:
            return f"优化器是 SGD，学习率 {self.lr:g}"
        return self.cycle.describe_zh(self.lr, self.total_steps if steps else None)


def constant(lr):
    """The documents' recipe: plain SGD at `lr`, step after step."""
    return Plan(lr, 1)
