"""Exercise 6's figure: the training-loss curves of the kernel's latest runs, plain nets dashed."""
import pytest

from d2l_compat.common import loss_curves, training


def summary(loss_curve):
    return training.TrainingSummary(1.0, 0.5, 0.5, 100.0, 1.0, 1, "cpu", loss_curve=tuple(loss_curve))


def test_the_latest_runs_are_named_in_the_order_they_ran(monkeypatch):
    monkeypatch.setattr(training, "HISTORY", training.collections.deque(maxlen=32))
    for k in range(5):
        training.HISTORY.append(summary([(1.0, float(k))]))
    runs = loss_curves.latest_runs(["a", "b"])
    assert list(runs) == ["a", "b"] and [r.loss_curve[0][1] for r in runs.values()] == [3.0, 4.0]


def test_more_names_than_runs_says_to_run_the_training_first(monkeypatch):
    monkeypatch.setattr(training, "HISTORY", training.collections.deque([summary([(1.0, 1.0)])], maxlen=32))
    with pytest.raises(ValueError, match="2 names, but this kernel has run 1 training.*run the training cell"):
        loss_curves.latest_runs({"普通网络-18": None, "ResNet-18": None})


def test_the_figure_draws_one_line_per_run_plain_nets_dashed():
    curves = {"普通网络-18": [(0.5, 2.0), (1.0, 1.0)], "ResNet-18": [(0.5, 1.5), (1.0, 0.8)]}
    ax = loss_curves.figure(curves, "t").axes[0]
    assert [line.get_label() for line in ax.lines] == list(curves)
    assert [line.get_linestyle() for line in ax.lines] == ["--", "-"]
    assert list(ax.lines[1].get_ydata()) == [1.5, 0.8]
