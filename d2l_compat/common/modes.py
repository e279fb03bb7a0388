"""train_ch6 picks its execution mode by measuring it, on the machine at hand.

This is cuDNN's benchmark mode, for the whole training step: where a framework can run the same
step in several ways (TensorFlow with or without XLA, MindSpore as a graph or in PyNative, ...), the
first training steps try each on the real batches, and the rest of the run keeps the fastest. The
trial steps are real training steps, so measuring costs only the slower modes' extra time. The
choice counts each mode's compile time against the steps that remain, depends only on the timings,
and is kept per process, device and batch shape. `d2l.train_mode("...")` fixes a mode instead.
"""
import dataclasses
import statistics

TRIAL_STEPS = 4          # per candidate: the first (compile included), then three to time
MIN_STEPS_PER_TRIAL = 25  # measure only when the run is this many times longer than the trials: a
# shorter one (a test's 200 steps) could save seconds at best, and would pay every mode's compile


@dataclasses.dataclass(frozen=True)
class Mode:
    """One way to run the step: `name` for train_mode(), `label` for the learner (Chinese)."""
    name: str
    label: str


@dataclasses.dataclass(frozen=True)
class Timing:
    """A mode's trial: its first step (compile included) and the median of the steps after it."""
    first: float
    steady: float

    @property
    def compile(self):
        """The first step's extra time: tracing and compiling."""
        return max(0.0, self.first - self.steady)


def timing(seconds):
    """The Timing of one trial's step times, the first one first."""
    if len(seconds) < 2:
        raise ValueError(f"a trial needs at least two steps, got {len(seconds)}")
    return Timing(seconds[0], statistics.median(seconds[1:]))


def choose(timings, remaining_steps):
    """The mode with the least predicted time for the rest of the run: compile + steady step x
    remaining steps. `timings` maps names to Timing, in the order tried; a tie keeps the earlier."""
    if not timings:
        raise ValueError("choose needs the timing of at least one mode")
    order = list(timings)
    return min(order, key=lambda name: (timings[name].compile + timings[name].steady * remaining_steps,
                                        order.index(name)))


class ModalStep:
    """A training step that can run in several modes; `modes[0]` is the default.

    `run(mode_name, X, y)` does the step; `switch(mode_name)`, if given, prepares the model for a
    mode before its first step in it (e.g. a memory layout)."""

    def __init__(self, framework, modes, run, switch=None):
        if not modes:
            raise ValueError("a ModalStep needs at least one mode")
        self.framework, self.modes, self._run, self._switch = framework, tuple(modes), run, switch
        self.mode = self.modes[0].name

    def use(self, name):
        """Run the following steps in mode `name`."""
        if name != self.mode and self._switch is not None:
            self._switch(name)
        self.mode = name

    def label(self, name=None):
        """The Chinese label of mode `name` (default: the one in use)."""
        name = name or self.mode
        return next(mode.label for mode in self.modes if mode.name == name)

    def __call__(self, X, y):
        return self._run(self.mode, X, y)


_fixed = {}    # framework -> the mode train_mode() fixed
_chosen = {}   # (framework, device, batch shape) -> (mode name, {name: Timing})


def train_mode_function(framework, modes):
    """The framework module's public train_mode(): fix one of `modes` (names), or "auto" to measure."""
    names = [mode.name for mode in modes]
    labels = "; ".join(f"{mode.name!r}: {mode.label}" for mode in modes)

    def train_mode(mode="auto"):
        """Fix train_ch6's execution mode ("auto", the default: measure and keep the fastest)."""
        if mode == "auto":
            _fixed.pop(framework, None)
        elif mode in names:
            _fixed[framework] = mode
        else:
            raise ValueError(f"train_mode: {mode!r} is not a mode of {framework}; choose 'auto' or one of "
                             f"{labels}")
    train_mode.__doc__ += f" Modes here: {labels}."
    return train_mode


def fixed_mode(framework):
    """The mode train_mode() fixed for `framework`, or None."""
    return _fixed.get(framework)


def forget():
    """Drop the choices measured so far in this process (tests; a changed machine)."""
    _chosen.clear()


class Trial:
    """Runs the measurement inside train_ch6's loop: call `before(i)` before step i and
    `after(i, seconds)` after it. `done` is True once the mode for the rest of the run is set."""

    def __init__(self, step, device, shape, total_steps, say=print, budget_seconds=None):
        self.step, self.say, self.total_steps, self.budget_seconds = step, say, total_steps, budget_seconds
        self.key = (step.framework, str(device), tuple(shape))
        self.times, self.timings, self.done, self.measured = {}, {}, False, False
        fixed = fixed_mode(step.framework)
        many = len(step.modes) > 1
        if fixed is not None and fixed in [mode.name for mode in step.modes]:
            self._settle(fixed, f"执行模式：{step.label(fixed)}，由 d2l.train_mode 指定。")
        elif not many:
            self._settle(step.mode, None)
        elif self.key in _chosen:
            name, self.timings = _chosen[self.key]
            self._settle(name, f"执行模式：{step.label(name)}，沿用本进程中对相同形状批量的测量结果。")
        elif total_steps < MIN_STEPS_PER_TRIAL * TRIAL_STEPS * len(step.modes):
            self._settle(step.mode, None)  # too short a run to be worth measuring: the default, silently
        else:
            self.order = [mode.name for mode in step.modes]

    def _settle(self, name, line):
        self.step.use(name)
        self.done = True
        if line:
            self.say(line)

    def before(self, i):
        """Switch to the mode step i is a trial of."""
        if not self.done:
            self.step.use(self.order[i // TRIAL_STEPS])

    def after(self, i, seconds, elapsed=0.0):
        """Record step i's time (`elapsed`: the run's training time so far); after the last trial
        step, choose and say so."""
        if self.done:
            return
        name = self.order[i // TRIAL_STEPS]
        self.times.setdefault(name, []).append(seconds)
        if len(self.times[name]) == TRIAL_STEPS:
            self.timings[name] = timing(self.times[name])
        if len(self.timings) == len(self.order):
            remaining = max(self.total_steps - i - 1, 0)
            if self.budget_seconds is not None:  # a time budget ends the run sooner than its data
                fastest = min(t.steady for t in self.timings.values())
                remaining = min(remaining, max(int((self.budget_seconds - elapsed) / fastest), 0))
            best = choose(self.timings, remaining)
            _chosen[self.key] = (best, dict(self.timings))
            self.measured = True
            self._settle(best, describe(self.step, self.timings, best, remaining))

    @property
    def steady_seconds(self):
        """The chosen mode's measured seconds per step, or None when nothing was measured."""
        timing_ = self.timings.get(self.step.mode)
        return timing_.steady if timing_ else None


def describe(step, timings, best, remaining):
    """The one line saying what was measured and chosen."""
    tried = "，".join(f"{step.label(name)} {t.steady * 1000:.0f} 毫秒"
                     + (f"（第一步另需 {t.compile:.1f} 秒编译）" if t.compile >= 0.5 else "")
                     for name, t in timings.items())
    return (f"执行模式：实测每步用时，{tried}；按剩下的 {remaining} 步估算，选用{_after_han(step.label(best))}"
            "（想固定某一种，可调用 d2l.train_mode）。")


def _after_han(text):
    """`text` after a Han character: a Latin word takes the space Chinese typesetting puts before it."""
    return f" {text}" if text[:1].isascii() else text