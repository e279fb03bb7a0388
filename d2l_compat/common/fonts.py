"""A font for the figures' Chinese labels, where this computer has one (no framework is imported).

matplotlib's default font has no Chinese characters. `make setup` installs Noto Sans CJK on Debian
and Ubuntu (`make browser`: fonts-noto-cjk); macOS and Windows ship one of the others below.
Without any, the figures keep English labels rather than show empty boxes.
"""
import functools

# Simplified-Chinese faces first; a .ttc of Noto CJK shows up in matplotlib under its first face (JP).
CJK_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans CJK JP", "Source Han Sans",
                "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "PingFang SC", "Heiti SC", "Hiragino Sans GB",
                "Microsoft YaHei", "SimHei", "Noto Serif CJK SC", "Noto Serif CJK JP")


@functools.lru_cache(maxsize=1)
def cjk_family():
    """The first of CJK_FAMILIES that matplotlib finds on this computer, or None."""
    try:
        from matplotlib import font_manager
    except ImportError:  # no matplotlib (a bare GPU machine): nothing is drawn, so no label is seen
        return None
    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FAMILIES if name in installed), None)


def chinese(zh, en):
    """`zh` where a Chinese font can draw it, else `en`."""
    return zh if cjk_family() else en


def rc():
    """matplotlib settings that draw Latin text in its default font and Chinese in the CJK font."""
    family = cjk_family()  # a list of families: matplotlib takes each glyph from the first that has it
    return {"font.family": ["DejaVu Sans", family], "axes.unicode_minus": False} if family else {}
