"""The figures are drawn from the architecture: their shapes are the documents' shape walk."""
import importlib.util
import pathlib

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


def test_figures_are_written(tmp_path):
    draw_figures.resnet18(tmp_path / "r.svg")
    draw_figures.two_blocks(tmp_path / "b.svg", dict(residual=False), dict(residual=True, shortcut_conv=True))
    for name in ("r.svg", "b.svg"):
        text = (tmp_path / name).read_text()
        assert text.startswith("<?xml") and "<svg" in text
    for name in ("residual-block.svg", "residual-1x1.svg", "resnet18.svg"):
        assert (ROOT / "img" / name).is_file(), f"run `make img`: img/{name} is missing"
