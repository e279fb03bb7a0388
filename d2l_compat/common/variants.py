"""Table 1 of He et al. 2016 as data: layers, parameters and multiply-adds from the layer shapes.

No framework is imported. The parameter count depends on how a net is built ("construction"):

- "torchvision": bias-free convolutions, batch norm after every convolution, the projection
  shortcut included (a 1x1 convolution + batch norm where the shape changes);
- "book": the D2L chapter's Residual: convolutions with biases, no batch norm on the shortcut.

Multiply-adds (the paper's "FLOPs") count the convolutions and the classifier for one image. A
bottleneck block that halves the resolution does so in its first 1x1 convolution in the paper
(stride_at="1x1") and in its 3x3 convolution in torchvision (stride_at="3x3").
"""
import collections
import numbers
import unicodedata

# name: (block, residual blocks per stage); stage widths are 64, 128, 256, 512 (x4 at a
# bottleneck's output)
RESNET_VARIANTS = {
    "ResNet-18": ("basic", (2, 2, 2, 2)),
    "ResNet-34": ("basic", (3, 4, 6, 3)),
    "ResNet-50": ("bottleneck", (3, 4, 6, 3)),
    "ResNet-101": ("bottleneck", (3, 4, 23, 3)),
    "ResNet-152": ("bottleneck", (3, 8, 36, 3)),
}
WIDTHS = (64, 128, 256, 512)
EXPANSION = {"basic": 1, "bottleneck": 4}
CONSTRUCTIONS = {"torchvision": dict(conv_bias=False, shortcut_bn=True),
                 "book": dict(conv_bias=True, shortcut_bn=False)}
STRIDE_AT = ("1x1", "3x3")

# torchvision's published counts (its model cards; 3x224x224 input, 1000 classes)
PUBLISHED_PARAMETERS = {"ResNet-18": 11_689_512, "ResNet-34": 21_797_672, "ResNet-50": 25_557_032,
                        "ResNet-101": 44_549_160, "ResNet-152": 60_192_808}
# Table 1's FLOPs row: multiply-adds x 10^9, as the paper prints them
PAPER_GFLOPS = {"ResNet-18": 1.8, "ResNet-34": 3.6, "ResNet-50": 3.8, "ResNet-101": 7.6,
                "ResNet-152": 11.3}


def _variant(name):
    if name not in RESNET_VARIANTS:
        raise ValueError(f"unknown ResNet variant {name!r}; choose one of {', '.join(RESNET_VARIANTS)}")
    return RESNET_VARIANTS[name]


def _choice(value, allowed, what):
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


# One weighted layer: a convolution ("conv") or the classifier ("linear", kernel 1); `size` is
# the height (= width) of its output.
Layer = collections.namedtuple("Layer", "kind kernel c_in c_out stride shortcut size")


def _conv(kernel, c_in, c_out, stride, size_in, shortcut=False):
    size = (size_in + 2 * (kernel // 2) - kernel) // stride + 1  # padding kernel // 2, as in every Table 1 net
    return Layer("conv", kernel, c_in, c_out, stride, shortcut, size)


def _block(block, c_in, width, stride, size, stride_at):
    """The layers of one residual block: its main path, then the projection shortcut if needed."""
    if block == "basic":
        shapes = [(3, c_in, width, stride), (3, width, width, 1)]
    else:
        first, middle = (stride, 1) if stride_at == "1x1" else (1, stride)
        shapes = [(1, c_in, width, first), (3, width, width, middle), (1, width, 4 * width, 1)]
    layers, s = [], size
    for kernel, a, b, st in shapes:
        layers.append(_conv(kernel, a, b, st, s))
        s = layers[-1].size
    c_out = shapes[-1][2]
    if stride != 1 or c_in != c_out:
        layers.append(_conv(1, c_in, c_out, stride, size, shortcut=True))
    return layers


def resnet_layer_shapes(name, in_channels=3, num_classes=1000, size=224, stride_at="1x1"):
    """Every weighted layer of a variant, in order, as `Layer` records."""
    block, counts = _variant(name)
    _choice(stride_at, STRIDE_AT, "stride_at")
    layers = [_conv(7, in_channels, 64, 2, size)]
    size = (layers[0].size + 2 - 3) // 2 + 1  # the stem's 3x3 max pool, stride 2, padding 1
    c_in = 64
    for stage, (width, blocks) in enumerate(zip(WIDTHS, counts)):
        for i in range(blocks):
            stride = 2 if i == 0 and stage > 0 else 1
            layers += _block(block, c_in, width, stride, size, stride_at)
            c_in, size = layers[-1].c_out, layers[-1].size
    layers.append(Layer("linear", 1, c_in, num_classes, 1, False, 1))
    return layers


def resnet_layers(name):
    """The number of weighted layers that names the variant (shortcut convolutions not counted)."""
    return sum(1 for layer in resnet_layer_shapes(name) if not layer.shortcut)


def resnet_parameters(name, construction="torchvision", in_channels=3, num_classes=1000):
    """Trainable parameters of a variant built as `construction` builds it ("torchvision" or "book")."""
    options = CONSTRUCTIONS[_choice(construction, tuple(CONSTRUCTIONS), "construction")]
    total = 0
    for layer in resnet_layer_shapes(name, in_channels, num_classes):
        weights = layer.kernel ** 2 * layer.c_in * layer.c_out
        if layer.kind == "linear":
            total += weights + layer.c_out
            continue
        total += weights + (layer.c_out if options["conv_bias"] else 0)
        if not layer.shortcut or options["shortcut_bn"]:
            total += 2 * layer.c_out  # batch norm's scale and shift
    return total


def resnet_multiply_adds(name, stride_at="1x1", size=224, in_channels=3, num_classes=1000):
    """Multiply-adds of the convolutions and the classifier for one size x size image."""
    return sum(layer.kernel ** 2 * layer.c_in * layer.c_out * layer.size ** 2
               for layer in resnet_layer_shapes(name, in_channels, num_classes, size, stride_at))


def _counts(counts, what):
    if not isinstance(counts, dict) or not counts:
        raise TypeError(f"{what} must be a dict such as {{'ResNet-18': 11689512, ...}}, got {counts!r}")
    for name, count in counts.items():
        _variant(name)
        if not isinstance(count, numbers.Integral) or isinstance(count, bool):
            raise TypeError(f"{what}[{name!r}] must be an integer parameter count, got {count!r}")
    return {name: int(count) for name, count in counts.items()}


BLOCK_NAMES_ZH = {"basic": "基本块", "bottleneck": "瓶颈块"}


def _shown_width(text):
    """Columns `text` takes in a monospaced font: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def resnet_table(parameters, book_parameters=None):
    """Table 1 as a Chinese table: blocks per 模块, layers, measured and published parameters, multiply-adds."""
    parameters = _counts(parameters, "parameters")
    book = _counts(book_parameters, "book_parameters") if book_parameters is not None else None
    if book is not None and set(book) != set(parameters):
        raise ValueError("parameters and book_parameters must name the same variants, "
                         f"got {sorted(parameters)} and {sorted(book)}")
    header = ["模型", "残差块", "各模块的块数", "层数", "参数个数", "公布值"] + (["本书写法"] if book else []) \
        + ["乘加1x1", "乘加3x3", "论文"]
    rows = []
    for name in (n for n in RESNET_VARIANTS if n in parameters):
        kind, blocks = RESNET_VARIANTS[name]
        rows.append([name, BLOCK_NAMES_ZH[kind], "(" + ",".join(map(str, blocks)) + ")", str(resnet_layers(name)),
                     f"{parameters[name]:,}", f"{PUBLISHED_PARAMETERS[name]:,}"] + ([f"{book[name]:,}"] if book else [])
                    + [f"{resnet_multiply_adds(name, at) / 1e9:.3f}" for at in STRIDE_AT]
                    + [f"{PAPER_GFLOPS[name]:.1f}"])
    widths = [max(_shown_width(r[i]) for r in [header] + rows) for i in range(len(header))]
    pad = lambda cell, w: " " * (w - _shown_width(cell))
    lines = ["  ".join(cell + pad(cell, w) if i < 3 else pad(cell, w) + cell
                       for i, (cell, w) in enumerate(zip(r, widths))).rstrip() for r in [header] + rows]
    legend = [
        "参数个数：本框架按 torchvision 的写法构建的模型（卷积不带偏置，捷径的 1x1 卷积之后接批量规范化）；",
        "  公布值：torchvision 公布的参数个数。"]
    if book:
        legend.append("本书写法：按书中 Residual 的写法构建（卷积带偏置，捷径上不接批量规范化）。")
    legend += [
        "乘加：一张 3x224x224 图片的乘加次数（x10^9）；瓶颈块的步幅在第一个 1x1 卷积上（论文的写法），",
        "  或在 3x3 卷积上（torchvision 的写法，即 ResNet v1.5）；论文：表 1 中的 FLOPs。"]
    return "\n".join(["He et al. 2016 表 1 中的五个 ResNet（输入 3x224x224，1000 类）"] + lines + legend)
