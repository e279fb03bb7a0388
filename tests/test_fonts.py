"""The figures' Chinese labels: drawn in a CJK font where there is one, in English where there is none."""
import io
import warnings

import pytest

from d2l_compat.common import fonts


def test_without_a_cjk_font_the_labels_stay_english(monkeypatch):
    monkeypatch.setattr(fonts, "cjk_family", lambda: None)
    assert fonts.chinese("训练损失", "train loss") == "train loss"
    assert fonts.rc() == {}


def test_with_one_the_labels_are_chinese_and_every_glyph_is_drawn():
    family = fonts.cjk_family()
    if family is None:
        pytest.skip("no CJK font on this computer: `make browser` installs Noto CJK (fonts-noto-cjk)")
    assert family in fonts.CJK_FAMILIES and fonts.chinese("训练损失", "train loss") == "训练损失"
    import matplotlib
    from matplotlib.figure import Figure
    with matplotlib.rc_context(fonts.rc()), warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font(s)" would be a warning
        fig = Figure()
        ax = fig.subplots()
        ax.set_xlabel("迭代周期（epoch）")
        ax.legend(ax.plot([0, 1], [1, 0]), ["训练损失"])
        fig.savefig(io.BytesIO(), format="png")
