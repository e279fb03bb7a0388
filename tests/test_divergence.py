"""A diverging run stops at its first non-finite loss, says why in Chinese and English, and keeps the plot."""
import math

import pytest

from d2l_compat.common import schedule, training


class Batches(list):
    """n fake minibatches (X, y)."""
    batch_size = 4

    def __init__(self, n):
        super().__init__((k, k) for k in range(n))


def _steps(losses):
    """A fake trainer step returning `losses` one after another (summed loss, correct, examples)."""
    taken = []

    def step(X, y):
        taken.append(X)
        return losses[len(taken) - 1] * 4, 2, 4
    return step, taken


@pytest.mark.parametrize("device", ["cpu", "cuda:0"])
def test_training_stops_at_the_first_nan_loss(device, monkeypatch):
    monkeypatch.setattr(training.presets, "active_preset", lambda: None)
    losses = [2.3, 1.9, float("nan")] + [float("nan")] * 17
    step, taken = _steps(losses)
    with pytest.raises(training.TrainingDivergedError) as caught:
        training.fit(step, lambda it: 0.5, device, Batches(20), Batches(4), 3,
                     plan=schedule.constant(0.9))
    message = str(caught.value)
    assert "nan" in message and "lr=0.9" in message and "学习率" in message and "diverged" in message
    # On a CPU the loss is read at every step; on a GPU at the next read-back (every fifth of an epoch).
    assert len(taken) == (3 if device == "cpu" else 4)
    assert f"第 1 个迭代周期的第 {len(taken)} 个批量" in message
    assert caught.value._render_traceback_() == [f"TrainingDivergedError: {message}"]


def test_a_finite_run_is_not_stopped(monkeypatch):
    monkeypatch.setattr(training.presets, "active_preset", lambda: None)
    step, taken = _steps([1.0] * 10)
    summary = training.fit(step, lambda it: 0.5, "cpu", Batches(10), Batches(2), 1,
                           plan=schedule.constant(0.1))
    assert len(taken) == 10 and math.isclose(summary.loss, 1.0)


def test_the_message_suggests_the_preset_only_when_it_is_off():
    assert "classroom_preset" in training.diverged_message(1, 3, 0.5, preset_active=False)
    assert "classroom_preset" not in training.diverged_message(1, 3, 0.5, preset_active=True)
