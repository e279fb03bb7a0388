"""The figures are drawn from the architecture and say what the prose says."""
import importlib.util
import itertools
import pathlib

import matplotlib.pyplot as plt
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("draw_figures", ROOT / "img" / "draw_figures.py")
draw_figures = importlib.util.module_from_spec(spec)
spec.loader.exec_module(draw_figures)


def test_resnet18_figure_follows_the_shape_walk():
    rows = draw_figures.resnet18_layers(224)
    shapes = [shape for _, _, shape in rows if shape]
    assert shapes[0] == "64 x 112 x 112" and shapes[1] == "64 x 56 x 56"
    stage_ends = [shapes[i] for i in (3, 5, 7, 9)]
    assert stage_ends == ["64 x 56 x 56", "128 x 28 x 28", "256 x 14 x 14", "512 x 7 x 7"]
    convs = 1 + sum(2 * blocks for _, blocks, _ in draw_figures.STAGES) + 1
    assert convs == 18  # the 18 of ResNet-18: conv layers plus the dense layer


def drawn_block(**kw):
    """The labels of one drawn block: {text: [(y, rotation), ...]}."""
    fig, ax = plt.subplots()
    draw_figures.block(ax, 0, **kw)
    labels = {}
    for t in ax.texts:
        labels.setdefault(t.get_text(), []).append((t.get_position()[1], t.get_rotation()))
    plt.close(fig)
    return labels


@pytest.mark.parametrize("kw", [dict(residual=False), dict(residual=True),
                                dict(residual=True, shortcut_conv=True)])
def test_f_of_x_is_the_input_of_the_final_relu(kw):
    labels = drawn_block(**kw)
    final_relu = max(y for y, _ in labels[draw_figures.LABELS["relu"]])
    below = labels["+"][0][0] if kw["residual"] else max(y for y, _ in labels[draw_figures.LABELS["bn"]])
    f_x = [y for y, rotation in labels["f(x)"] if rotation == 0]
    assert len(f_x) == 1 and below < f_x[0] < final_relu
    assert [y > final_relu for y, _ in labels["ReLU(f(x))"]] == [True]


def test_the_dashed_part_learns_f_or_the_residual():
    assert sorted(r for _, r in drawn_block(residual=False)["f(x)"]) == [0, 90]  # the dashed box learns f(x)
    assert "g(x) = f(x) - x" in drawn_block(residual=True)
    assert "g(x) = f(x) - conv1x1(x)" in drawn_block(residual=True, shortcut_conv=True)


def contains(outer, inner):
    return all(draw_figures.inside(outer, p) for p in draw_figures.boundary(inner))


def test_nested_classes_are_nested_and_approach_f_star():
    classes = draw_figures.NESTED
    assert len(classes) == 6
    assert all(contains(big, small) for small, big in zip(classes, classes[1:]))
    distances = [draw_figures.distance_to_f_star(c) for c in classes]
    assert all(a > b for a, b in zip(distances, distances[1:])), distances
    assert distances[-1] > 0, "f* stays outside: a bigger class gets closer, it need not reach f*"


def test_non_nested_classes_can_move_away_from_f_star():
    classes = draw_figures.NON_NESTED
    assert len(classes) == 6
    assert not any(contains(big, small) for small, big in itertools.combinations(classes, 2))
    distances = [draw_figures.distance_to_f_star(c) for c in classes]
    assert distances[-1] > min(distances), "the largest class is not the closest to f*"


def test_figures_are_written(tmp_path):
    for name, draw in draw_figures.FIGURES.items():
        draw(tmp_path / name)
        text = (tmp_path / name).read_text()
        assert text.startswith("<?xml") and "<svg" in text
        for drawn in (name, name.replace(".svg", ".png")):
            assert (ROOT / "img" / drawn).is_file(), f"run `make img`: img/{drawn} is missing"
