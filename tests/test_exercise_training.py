"""The exercises' comparison cell trains all its nets in every framework (a few batches each).

nbval skips that cell's training under the smoke preset, so here it runs for real on a tiny
preset, through bench/exercises.py's `compare`, which executes the notebook's own cell.
"""
import importlib.util
import math

from d2l_compat.common import presets
from notebook_code import ROOT

spec = importlib.util.spec_from_file_location("bench_exercises", ROOT / "bench" / "exercises.py")
bench_exercises = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench_exercises)
TINY = presets.Preset("test", train_size=96, test_size=32, num_epochs=1, resize=None, batch_size=32)


def test_comparison_cell_trains_every_net(d2l, framework, capsys):
    summaries, preset = bench_exercises.compare(framework, TINY)
    out = capsys.readouterr().out
    assert preset is TINY
    assert list(summaries) == ["ResNet-18", "预激活", "无捷径"]
    for name, summary in summaries.items():
        assert name in out
        assert summary.epochs == 1 and math.isfinite(summary.loss) and 0 <= summary.test_acc <= 1, (name, summary)
