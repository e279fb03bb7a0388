"""Draw the notebooks' figures from the architecture itself: `make img` (or python img/draw_figures.py).

Writes function-classes.svg, residual-block.svg, residual-1x1.svg and resnet18.svg beside this file.
The labels are Chinese, in d2l-zh's terms (LABELS): drawing needs a CJK font (d2l_compat/common/fonts.py;
`make browser` installs Noto CJK). The SVGs store their text as outlines, so they show anywhere.
"""
import math
import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Ellipse, FancyArrowPatch, FancyBboxPatch  # noqa: E402

from d2l_compat.common import fonts  # noqa: E402  (imports no framework)

HERE = pathlib.Path(__file__).resolve().parent
plt.rcParams.update({"svg.hashsalt": "five-resnets", "font.size": 9, **fonts.rc()})
LABELS = {"conv3": "3×3 卷积", "conv1": "1×1 卷积", "bn": "批量规范化", "relu": "ReLU",
          "plain": "普通块", "residual": "残差块", "identity": "捷径直通", "projection": "捷径上带 1×1 卷积",
          "non_nested": "非嵌套的函数类", "nested": "嵌套的函数类", "stem_conv": "7×7 卷积，64，步幅 2",
          "pool": "3×3 最大汇聚层，步幅 2", "block": "残差块，{channels}", "downsample": "，步幅 2（1×1 卷积）",
          "gap": "全局平均汇聚层", "dense": "全连接层，10", "input": "输入 1 × 224 × 224"}
COLORS = {"conv": "#cfe2f3", "bn": "#fff2cc", "relu": "#d9ead3", "add": "#f4cccc", "other": "#eeeeee"}

# ResNet-18: (channels, residual blocks, first stage?) per stage, as in the notebooks
STAGES = [(64, 2, True), (128, 2, False), (256, 2, False), (512, 2, False)]


def box(ax, x, y, text, kind="other", w=1.6, h=0.42, size=None):
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02",
                                fc=COLORS[kind], ec="#444444", lw=0.8))
    ax.text(x, y, text, ha="center", va="center", fontsize=size)


def arrow(ax, start, end, **kw):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=9, lw=0.8,
                                 color="#444444", **kw))


def main_path(ax, x, y0, dy=0.62):
    """conv-BN-ReLU-conv-BN upwards from y0; returns the y of the last box."""
    layers = [(LABELS["conv3"], "conv"), (LABELS["bn"], "bn"), (LABELS["relu"], "relu"),
              (LABELS["conv3"], "conv"), (LABELS["bn"], "bn")]
    y = y0
    for i, (text, kind) in enumerate(layers):
        box(ax, x, y, text, kind)
        if i:
            arrow(ax, (x, y - dy + 0.21), (x, y - 0.21))
        y += dy
    return y - dy


def block(ax, x, residual, shortcut_conv=False, title=""):
    """One block drawn upwards from its input x. As in the book, f(x) is the value that enters the
    final ReLU: the dashed part learns f(x) itself (plain) or g(x) = f(x) - x (residual)."""
    ax.text(x, -0.55, "x", ha="center", va="center", fontsize=11, style="italic")
    arrow(ax, (x, -0.4), (x, 0.29))
    top = main_path(ax, x, 0.5)
    ax.add_patch(FancyBboxPatch((x - 0.95, 0.2), 1.9, top - 0.2 + 0.3, boxstyle="round,pad=0.02",
                                fc="none", ec="#999999", lw=0.8, ls="--"))
    learns = "g(x) = f(x) - conv1x1(x)" if shortcut_conv else "g(x) = f(x) - x" if residual else "f(x)"
    ax.text(x - 1.15, 1.75, learns, rotation=90, ha="center", va="center", style="italic")
    below_relu = top + 0.21
    if residual:
        add_y = top + 0.7
        box(ax, x, add_y, "+", "add", w=0.42)
        arrow(ax, (x, top + 0.21), (x, add_y - 0.21))
        side = x + 1.6
        line = dict(color="#444444", lw=0.8)
        ax.plot([x, side], [-0.2, -0.2], **line)
        if shortcut_conv:
            box(ax, side, 1.75, LABELS["conv1"], "conv", w=1.0)
            ax.plot([side, side], [-0.2, 1.54], **line)
            ax.plot([side, side], [1.96, add_y], **line)
        else:
            ax.plot([side, side], [-0.2, add_y], **line)
        arrow(ax, (side, add_y), (x + 0.21, add_y))
        below_relu = add_y + 0.21
    relu_y = top + 1.61  # the same height in both kinds of block
    box(ax, x, relu_y, "ReLU", "relu")
    arrow(ax, (x, below_relu), (x, relu_y - 0.21))
    ax.text(x + 0.12, (below_relu + relu_y - 0.21) / 2, "f(x)", ha="left", va="center", fontsize=11,
            style="italic")
    arrow(ax, (x, relu_y + 0.21), (x, relu_y + 0.6))
    ax.text(x, relu_y + 0.75, "ReLU(f(x))", ha="center", va="center", fontsize=10, style="italic")
    ax.text(x, relu_y + 1.15, title, ha="center", va="center", weight="bold")


def two_blocks(path, left, right):
    fig, ax = plt.subplots(figsize=(6.4, 5.2))
    block(ax, 1.5, **left)
    block(ax, 5.4, **right)
    ax.set_xlim(-0.2, 7.6), ax.set_ylim(-0.9, 6.1), ax.set_aspect("equal"), ax.axis("off")
    fig.savefig(path, bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)


# Function classes F1 ... F6 as axis-aligned ellipses (centre x, centre y, width, height) and the
# function f* we want. Non-nested: a larger class may lie farther from f*. Nested: each contains
# the last (same left end region, growing to the right), so the closest function can only improve.
F_STAR = (4.35, 2.35)
NON_NESTED = [(0.9, 0.9, 0.9, 0.6), (1.9, 1.5, 1.2, 0.8), (3.2, 2.1, 1.5, 1.0),
              (2.4, 0.5, 2.0, 1.0), (0.9, 2.4, 1.6, 1.3), (2.0, 3.4, 2.8, 1.2)]
NESTED = [(0.3 - 0.05 * i + (0.9 + 0.6 * i) / 2, 1.6, 0.9 + 0.6 * i, 0.6 + 0.45 * i) for i in range(6)]


def inside(ellipse, point):
    """Whether a point lies in (or on) an axis-aligned ellipse."""
    cx, cy, w, h = ellipse
    return ((point[0] - cx) / (w / 2)) ** 2 + ((point[1] - cy) / (h / 2)) ** 2 <= 1 + 1e-9


def boundary(ellipse, n=360):
    cx, cy, w, h = ellipse
    return [(cx + w / 2 * math.cos(2 * math.pi * k / n), cy + h / 2 * math.sin(2 * math.pi * k / n))
            for k in range(n)]


def distance_to_f_star(ellipse):
    """How far the class's best function lies from f* (0 when f* is in the class)."""
    if inside(ellipse, F_STAR):
        return 0.0
    return min(math.dist(F_STAR, p) for p in boundary(ellipse))


def function_classes(path):
    fig, axes = plt.subplots(1, 2, figsize=(7.6, 3.2))
    for ax, classes, title in ((axes[0], NON_NESTED, LABELS["non_nested"]),
                               (axes[1], NESTED, LABELS["nested"])):
        for i, (cx, cy, w, h) in enumerate(classes, start=1):
            ax.add_patch(Ellipse((cx, cy), w, h, fc=(0.27, 0.51, 0.71, 0.06), ec="#4a6fa5", lw=0.9))
            ax.text(cx + w / 2 - 0.08, cy + (0.0 if classes is NESTED else h / 2 - 0.1),
                    rf"$\mathcal{{F}}_{i}$", ha="right", va="center", fontsize=9)
        ax.plot(*F_STAR, marker="*", ms=12, color="#c0392b")
        ax.text(F_STAR[0] + 0.15, F_STAR[1], r"$f^*$", ha="left", va="center", fontsize=12)
        ax.set_title(title, fontsize=10, weight="bold")
        ax.set_xlim(-0.1, 5.0), ax.set_ylim(-0.1, 4.1), ax.set_aspect("equal"), ax.axis("off")
    fig.savefig(path, bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)


def resnet18_layers(size=224):
    """(label, kind, output shape text) for every box of ResNet-18, computed from STAGES."""
    size //= 2
    rows = [(LABELS["stem_conv"], "conv", f"64 x {size} x {size}"),
            (LABELS["bn"], "bn", ""), (LABELS["relu"], "relu", "")]
    size //= 2
    rows.append((LABELS["pool"], "other", f"64 x {size} x {size}"))
    for channels, blocks, first in STAGES:
        for i in range(blocks):
            downsample = i == 0 and not first
            size = size // 2 if downsample else size
            label = LABELS["block"].format(channels=channels) + (LABELS["downsample"] if downsample else "")
            rows.append((label, "add", f"{channels} x {size} x {size}"))
    rows += [(LABELS["gap"], "other", "512"), (LABELS["dense"], "other", "10")]
    return rows


def resnet18(path):
    rows = resnet18_layers()
    fig, ax = plt.subplots(figsize=(4.6, 0.5 * len(rows) + 1))
    y = 0.0
    ax.text(0, y - 0.55, LABELS["input"], ha="center", va="center")
    for i, (label, kind, shape) in enumerate(rows):
        box(ax, 0, y, label, kind, w=3.6, h=0.36, size=8)
        if shape:
            ax.text(2.0, y, shape, ha="left", va="center", color="#555555", fontsize=8)
        arrow(ax, (0, y - 0.38 if i else y - 0.42), (0, y - 0.18))
        y += 0.5
    ax.text(0, y, "ResNet-18", ha="center", va="center", weight="bold")
    ax.set_xlim(-2.0, 3.4), ax.set_ylim(-0.8, y + 0.3), ax.axis("off")
    fig.savefig(path, bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)


FIGURES = {
    "function-classes.svg": function_classes,
    "residual-block.svg": lambda path: two_blocks(path, dict(residual=False, title=LABELS["plain"]),
                                                  dict(residual=True, title=LABELS["residual"])),
    "residual-1x1.svg": lambda path: two_blocks(path, dict(residual=True, title=LABELS["identity"]),
                                                dict(residual=True, shortcut_conv=True, title=LABELS["projection"])),
    "resnet18.svg": resnet18,
}

if __name__ == "__main__":
    if fonts.cjk_family() is None:
        raise SystemExit("make img draws Chinese labels and needs a CJK font: `make browser` installs Noto CJK "
                         f"(fonts-noto-cjk), or install one of {', '.join(fonts.CJK_FAMILIES[:6])}")
    # Each figure twice from the same code: the SVG for the repository, and a PNG twin that
    # tools/embed_figures.py puts into the notebooks (JupyterLab shows no SVG attachment).
    for name, draw in FIGURES.items():
        for path in (HERE / name, (HERE / name).with_suffix(".png")):
            draw(path)
            print("wrote", f"img/{path.name}")
