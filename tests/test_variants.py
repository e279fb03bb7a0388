"""Table 1 of the ResNet paper from the layer shapes: the published parameter counts and FLOPs."""
import pytest

from d2l_compat.common import variants
from d2l_compat.common.variants import (PAPER_GFLOPS, PUBLISHED_PARAMETERS, RESNET_VARIANTS, resnet_layer_shapes,
                                        resnet_layers, resnet_multiply_adds, resnet_parameters, resnet_table)

NAMES = list(RESNET_VARIANTS)
# The measurements (x 10^9, three decimals): the paper's stride placement, and torchvision's
# for ResNet-50
MEASURED_GMACS = {"ResNet-18": 1.814, "ResNet-34": 3.664, "ResNet-50": 3.858, "ResNet-101": 7.570,
                  "ResNet-152": 11.282}
TORCHVISION_RESNET50_GMACS = 4.089
NOTEBOOK_RESNET18 = 11_178_378  # the book's ResNet-18 for 1 channel and 10 classes (PyTorch notebook)


@pytest.mark.parametrize("name", NAMES)
def test_torchvision_construction_has_the_published_parameters(name):
    assert resnet_parameters(name, "torchvision") == PUBLISHED_PARAMETERS[name]


def test_published_constants_are_torchvisions():
    assert list(PUBLISHED_PARAMETERS.values()) == [11_689_512, 21_797_672, 25_557_032, 44_549_160, 60_192_808]
    assert list(PAPER_GFLOPS.values()) == [1.8, 3.6, 3.8, 7.6, 11.3]


@pytest.mark.parametrize("name", NAMES)
def test_the_layer_count_is_the_name(name):
    assert resnet_layers(name) == int(name.split("-")[1])


@pytest.mark.parametrize("name", NAMES)
def test_multiply_adds_reproduce_the_paper(name):
    gmacs = resnet_multiply_adds(name, "1x1") / 1e9
    assert round(gmacs, 3) == MEASURED_GMACS[name]
    assert abs(gmacs - PAPER_GFLOPS[name]) < 0.1


def test_torchvisions_stride_placement_costs_more():
    gmacs = resnet_multiply_adds("ResNet-50", "3x3") / 1e9
    assert round(gmacs, 3) == TORCHVISION_RESNET50_GMACS
    assert gmacs - PAPER_GFLOPS["ResNet-50"] > 0.1  # so the paper's 3.8 is not torchvision's net
    # basic blocks have no 1x1 on the main path: the two placements agree
    assert resnet_multiply_adds("ResNet-34", "3x3") == resnet_multiply_adds("ResNet-34", "1x1")


def test_book_construction_by_hand():
    # ResNet-18's convolutions have 4,800 output channels in all (the MindSpore notebook's missing
    # biases): stem 64 + stage 1 4 x 64 + stages 2-4 5 convs x 128 / 256 / 512. The book adds those
    # biases and drops the batch norm (scale and shift) of the three 1x1 shortcuts.
    biases, shortcut_bn = 4800, 2 * (128 + 256 + 512)
    assert resnet_parameters("ResNet-18", "book") - resnet_parameters("ResNet-18") == biases - shortcut_bn


def test_book_resnet18_of_the_notebooks():
    assert resnet_parameters("ResNet-18", "book", in_channels=1, num_classes=10) == NOTEBOOK_RESNET18


def test_other_inputs_change_only_the_stem_and_classifier():
    base = resnet_parameters("ResNet-50")
    assert resnet_parameters("ResNet-50", in_channels=1) == base - 2 * 7 * 7 * 64
    assert resnet_parameters("ResNet-50", num_classes=10) == base - 990 * (2048 + 1)


def test_shapes_at_224():
    layers = resnet_layer_shapes("ResNet-50")
    convs = [layer for layer in layers if layer.kind == "conv"]
    assert convs[0].size == 112 and convs[-1].size == 7 and convs[-1].c_out == 2048
    assert sum(layer.shortcut for layer in layers) == 4  # one projection per stage (stage 1: 64 -> 256)
    assert sum(layer.shortcut for layer in resnet_layer_shapes("ResNet-18")) == 3


@pytest.mark.frameworks("torch")
def test_book_construction_is_the_torch_notebooks_net(d2l):
    from notebook_code import build_namespace

    net = build_namespace("torch")["net"]
    assert sum(p.numel() for p in net.parameters()) == resnet_parameters("ResNet-18", "book", 1, 10)


def test_table_of_all_five():
    measured = {name: resnet_parameters(name) for name in NAMES}
    book = {name: resnet_parameters(name, "book") for name in NAMES}
    lines = resnet_table(measured, book).splitlines()
    header = lines[1].split()
    assert header[:4] == ["模型", "残差块", "各模块的块数", "层数"] and header[-1] == "论文"
    rows = {line.split()[0]: line.split() for line in lines[2:7]}
    assert list(rows) == NAMES
    for name, row in rows.items():
        assert row[2] == "(" + ",".join(map(str, RESNET_VARIANTS[name][1])) + ")"
        assert row[4] == row[5] == f"{PUBLISHED_PARAMETERS[name]:,}"
        assert row[6] == f"{book[name]:,}"
        assert float(row[7]) == MEASURED_GMACS[name] and float(row[9]) == PAPER_GFLOPS[name]
    assert rows["ResNet-50"][8] == "4.089" and rows["ResNet-101"][2] == "(3,4,23,3)"
    # columns line up in a monospaced font, where a Chinese character takes two columns
    assert len({variants._shown_width(line) for line in lines[1:7]}) == 1
    assert all(line == line.rstrip() for line in lines), "trailing spaces would be fragile under nbval"


def test_table_shows_a_measured_count_that_differs():
    text = resnet_table({"ResNet-18": 11_689_512 - 256, "ResNet-50": 25_557_032})
    row18 = [line for line in text.splitlines() if line.startswith("ResNet-18")][0].split()
    assert row18[4] == "11,689,256" and row18[5] == "11,689,512"
    assert "ResNet-34" not in text and "本书写法" not in text


@pytest.mark.parametrize("call, message", [
    (lambda: resnet_parameters("ResNet-20"), "unknown ResNet variant 'ResNet-20'"),
    (lambda: resnet_parameters("ResNet-18", "keras"), "construction must be one of"),
    (lambda: resnet_multiply_adds("ResNet-50", "3x1"), "stride_at must be one of"),
    (lambda: resnet_table({"ResNet-18": 1}, {"ResNet-34": 1}), "must name the same variants"),
])
def test_bad_names_say_what_to_use(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("counts", [[11_689_512], {}, {"ResNet-18": 1.5e7}, {"ResNet-18": True}])
def test_table_wants_integer_counts(counts):
    with pytest.raises(TypeError, match="parameters"):
        resnet_table(counts)

