"""Write the numbers the notebooks quote into their prose, from the committed results.

Usage: python tools/quote_results.py [--check]

A quote is the text of a markdown cell between `<!-- quote:NAME -->` and `<!-- /quote -->` (HTML
comments: invisible in Jupyter). This tool rewrites every quote of notebooks 1-5 from its source;
with --check it changes nothing and exits 1, naming each stale quote. Sources:

  cpu        bench/results/latest.json     (`make bench`): 600,000 / train_96 seconds
  classroom  bench/results/classroom.json  (`make bench-classroom`): the framework's runs and curve
  exercises  bench/results/exercises.json  (`make bench-exercises`): the exercises' comparison runs
  bn         BN_DEFAULTS below; tests/test_bn_defaults.py checks it against each framework
  table1     d2l_compat/common/variants.py: Table 1's multiply-adds and the constructions' difference
"""
import json
import os
import pathlib
import re
import sys
import tempfile

import nbformat

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from d2l_compat.common import variants  # noqa: E402
from d2l_compat.common.cpu import summary as machine_line  # noqa: E402

RESULTS = ROOT / "bench" / "results"
NOTEBOOKS = {"torch": "1-pytorch-resnet.ipynb", "mxnet": "2-mxnet-resnet.ipynb",
             "tensorflow": "3-tensorflow-resnet.ipynb", "paddle": "4-paddle-resnet.ipynb",
             "mindspore": "5-mindspore-resnet.ipynb"}
NAMES = {"torch": "PyTorch", "mxnet": "MXNet", "tensorflow": "TensorFlow", "paddle": "飞桨",
         "mindspore": "MindSpore"}
RECIPE_IMAGES = 600_000  # the documents' recipe: 60,000 images x 10 epochs at 96x96
QUOTE = re.compile(r"(<!-- quote:(?P<name>[a-z0-9]+) -->)(?P<text>.*?)(<!-- /quote -->)", re.DOTALL)

# Batch-norm defaults, in PyTorch's convention: after each training batch,
# running = (1 - momentum) * running + momentum * batch statistic.
# `default` is the layer's own argument; `keeps_old` marks frameworks whose argument is the
# weight of the old value (momentum = 1 - argument); MXNet updates its statistics in the backward pass.
BN_DEFAULTS = {
    "torch": dict(layer="nn.BatchNorm2d", argument="momentum", default=0.1, momentum=0.1, keeps_old=False),
    "mxnet": dict(layer="nn.BatchNorm", argument="momentum", default=0.9, momentum=0.1, keeps_old=True,
                  update="backward"),
    "tensorflow": dict(layer="tf.keras.layers.BatchNormalization", argument="momentum", default=0.99,
                       momentum=0.01, keeps_old=True),
    "paddle": dict(layer="nn.BatchNorm2D", argument="momentum", default=0.9, momentum=0.1, keeps_old=True),
    "mindspore": dict(layer="nn.BatchNorm2d", argument="momentum", default=0.9, momentum=0.1, keeps_old=True),
}


class QuoteError(Exception):
    """A results file is missing or not in the shape this tool reads."""


def _load(name, make_target):
    path = RESULTS / name
    if not path.is_file():
        raise QuoteError(f"bench/results/{name} is missing: run `make {make_target}` first")
    return json.loads(path.read_text("utf-8"))


def _duration(seconds):
    return f"{seconds / 3600:.1f} 小时" if seconds >= 5400 else f"{seconds / 60:.0f} 分钟"


def quote_cpu(framework):
    """The CPU estimate for the documents' recipe, from `make bench`."""
    latest = _load("latest.json", "bench")
    rows = [r for r in latest.get("results", []) if r.get("framework") == framework and "train_96" in r]
    if not rows:
        raise QuoteError(f"bench/results/latest.json has no train_96 for {framework}: run `make bench`")
    rate = rows[0]["train_96"]
    return (f"`make bench` 于 {latest['date']} 在 {machine_line(latest['machine'])} 上测得，{NAMES[framework]} 按这一配方"
            f"每秒约训练 {rate:.0f} 张 $96\\times 96$ 的图片，60 万张约需 {_duration(RECIPE_IMAGES / rate)}。")


def quote_classroom(framework):
    """The classroom preset's measured runs and training curve, from `make bench-classroom`."""
    data = _load("classroom.json", "bench-classroom")
    if not isinstance(data, dict) or not {"preset", "target", "frameworks"} <= set(data):
        raise QuoteError("bench/results/classroom.json has the old schema (a list of runs, or no "
                         "'preset'/'target'/'frameworks'); run `make bench-classroom` to write the new one")
    if framework not in data["frameworks"]:
        raise QuoteError(f"bench/results/classroom.json has no runs for {framework}: "
                         f"run `make bench-classroom` with {framework} installed")
    fw, target = data["frameworks"][framework], data["target"]
    accs = sorted(run["test_acc"] for run in fw["runs"])
    acc = f"{accs[0]:.3f}" if len(accs) == 1 else f"{accs[0]:.3f}–{accs[-1]:.3f}"
    png = fw["curve_png"]
    if not (ROOT / png).is_file():
        raise QuoteError(f"{png} (named in bench/results/classroom.json) is missing: run `make bench-classroom`")
    met = "达到" if fw["met"] else "未达到"
    return (f"{data['preset']['description_zh'].rstrip('。')}。`make bench-classroom` 于 {data['date']} 在 "
            f"{machine_line(data['machine'])} 上实测 {NAMES[framework]}（{len(accs)} 次）：测试精度 {acc}，训练用时至多 "
            f"{fw['max_training_seconds'] / 60:.1f} 分钟，{met}“{target['training_seconds'] / 60:g} 分钟内测试精度"
            f"不低于 {target['test_acc']:g}”的目标。")


def curve_file(framework):
    """The file name of the framework's classroom training curve, as bench/results/classroom.json names it."""
    return pathlib.PurePosixPath(_load("classroom.json", "bench-classroom")["frameworks"][framework]["curve_png"]).name


def quote_bn(framework):
    """The batch-norm momentum sentence, the same convention in every notebook."""
    bn = BN_DEFAULTS[framework]
    arg = f"`{bn['argument']}={bn['default']:g}`"
    if bn["keeps_old"]:
        own = (f"`{bn['layer']}` 的默认值是 {arg}，这个数是旧值的权重，换算过来是 "
               f"$m = 1 - {bn['default']:g} = {bn['momentum']:g}$")
    else:
        own = f"`{bn['layer']}` 的默认值 {arg} 用的正是这一约定，即 $m = {bn['momentum']:g}$"
    if framework == "tensorflow":
        own += ("：滑动平均追得很慢，训练步数很少时，用它算出的测试精度会明显低于训练精度"
                "（PyTorch 的 0.1 相当于 Keras 的 `momentum=0.9`）")
    if bn.get("update") == "backward":
        own += "；MXNet 在反向传播时才更新滑动平均，只做前向计算不会改变它"
    everyone = "，".join(f"{NAMES[fw]} {b['momentum']:g}" for fw, b in BN_DEFAULTS.items())
    return ("本项目统一按 PyTorch 的约定写动量 $m$：每个训练批量之后，滑动平均 ← $(1-m)\\cdot$滑动平均 "
            f"$+\\ m\\cdot$批量统计量。{own}。五个框架的默认值按这一约定是：{everyone}。")


def quote_table1(framework):
    """Table 1's multiply-adds against the paper, and the two constructions' parameter difference."""
    names = list(variants.RESNET_VARIANTS)
    paper = [variants.resnet_multiply_adds(n, "1x1") / 1e9 for n in names]
    gap = max(abs(p - variants.PAPER_GFLOPS[n]) for p, n in zip(paper, names))
    if gap >= 0.1:
        raise QuoteError(f"Table 1: the paper's FLOPs differ by {gap:.3f} x 10^9; the prose says 'under 0.1'")
    moved = {n: variants.resnet_multiply_adds(n, "3x3") / 1e9 for n in names
             if variants.resnet_multiply_adds(n, "3x3") != variants.resnet_multiply_adds(n, "1x1")}
    shapes = variants.resnet_layer_shapes("ResNet-18")
    biases = sum(layer.c_out for layer in shapes if layer.kind == "conv")
    shortcut_bn = sum(2 * layer.c_out for layer in shapes if layer.shortcut)
    difference = variants.resnet_parameters("ResNet-18", "book") - variants.resnet_parameters("ResNet-18")
    assert difference == biases - shortcut_bn, "the variants module and this sentence disagree"
    fmt = "、".join
    return (f"本书写法多了卷积的偏置，少了捷径上的批量规范化：以 ResNet-18 为例，多出 {biases:,} 个偏置（每个卷积的"
            f"每个输出通道一个），少了 {shortcut_bn:,} 个批量规范化参数（每个捷径的每个通道一个 $\\gamma$、一个 $\\beta$），"
            f"净多 {difference:,} 个。乘加次数有两列：论文把瓶颈块的步幅放在第一个 $1\\times 1$ 卷积上（GMACs 1x1），"
            f"这样算出的 {fmt(f'{p:.3f}' for p in paper)}（$\\times 10^9$）与论文表中的 "
            f"{fmt(f'{variants.PAPER_GFLOPS[n]:g}' for n in names)} 相差都不到 $0.1\\times 10^9$；torchvision 把步幅"
            f"移到 $3\\times 3$ 卷积上（GMACs 3x3），{fmt(moved)} 因此变成 "
            f"{fmt(f'{m:.3f}' for m in moved.values())}。"
            "原因是步幅为 2 的 $1\\times 1$ 卷积只读取四分之一的位置，另外四分之三的输入直接被跳过；把步幅放到 $3\\times 3$ "
            "卷积上，每个位置都会被用到，代价是第一个 $1\\times 1$ 卷积要在未缩小的特征图上计算。基本块没有 $1\\times 1$ "
            "卷积，两列相同。")


def quote_exercises(framework):
    """The comparison runs of exercises 4 and 6, the same table in every notebook."""
    path = RESULTS / "exercises.json"
    if not path.is_file():
        return ("\n\n还没有实测结果：运行 `make bench-exercises` 之后，`tools/quote_results.py` 会把它们写在这里。\n\n")
    data = json.loads(path.read_text("utf-8"))
    if not isinstance(data, dict) or not {"date", "machine", "variants", "frameworks"} <= set(data):
        raise QuoteError("bench/results/exercises.json is not in the shape bench/exercises.py writes; "
                         "run `make bench-exercises` again")
    heads = data["variants"]
    measured = [fw for fw in NOTEBOOKS if fw in data["frameworks"]]
    rows = ["| 框架 | 轮数 | " + " | ".join(heads) + " | 每个网络的训练用时 |",
            "|---|---:|" + "---:|" * len(heads) + "---:|"]
    for fw in measured:
        runs = data["frameworks"][fw]["runs"]
        cells = [f"{runs[v]['test_acc']:.3f}（{runs[v]['train_acc']:.3f}）" for v in heads]
        minutes = sorted(f"{runs[v]['training_seconds'] / 60:.1f}" for v in heads)
        span = minutes[0] if minutes[0] == minutes[-1] else f"{minutes[0]}–{minutes[-1]}"
        rows.append(f"| {NAMES[fw]} | {runs[heads[0]]['epochs']} | " + " | ".join(cells) + f" | {span} 分钟 |")
    who = "、".join(NAMES[fw] for fw in measured)
    return (f"\n\n`make bench-exercises` 于 {data['date']} 在 {machine_line(data['machine'])} 上用课堂模式实测了 {who}"
            "（每个网络训练一次，其余框架未测）。表中是测试精度，括号内是训练精度：\n\n"
            + "\n".join(rows) + "\n\n")


QUOTES = {"cpu": quote_cpu, "classroom": quote_classroom, "bn": quote_bn, "table1": quote_table1,
          "exercises": quote_exercises}


def quoted(text, framework):
    """`text` with each quote rewritten from its source."""
    def replace(match):
        if match["name"] not in QUOTES:
            raise QuoteError(f"unknown quote {match['name']!r}; known: {', '.join(QUOTES)}")
        return match[1] + QUOTES[match["name"]](framework) + match[4]
    new = QUOTE.sub(replace, text)
    if "<!-- quote:classroom -->" in text and curve_file(framework) not in text:
        raise QuoteError(f"{NOTEBOOKS[framework]}: the classroom cell shows no {curve_file(framework)}, "
                         "the training curve bench/results/classroom.json names")
    return new


def stale_cells(framework):
    """[(cell index, notebook text, quoted text)] for the markdown cells whose quotes are out of date."""
    nb = nbformat.read(ROOT / "notebooks" / NOTEBOOKS[framework], as_version=4)
    return [(i, cell.source, quoted(cell.source, framework)) for i, cell in enumerate(nb.cells)
            if cell.cell_type == "markdown" and QUOTE.search(cell.source)
            and quoted(cell.source, framework) != cell.source]


def rewrite(framework):
    """Rewrite the framework's notebook in place (via a temporary file); returns the cells changed."""
    path = ROOT / "notebooks" / NOTEBOOKS[framework]
    nb = nbformat.read(path, as_version=4)
    changed = 0
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            new = quoted(cell.source, framework)
            changed += new != cell.source
            cell.source = new
    if changed:
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".ipynb.tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            nbformat.write(nb, f)
        os.replace(tmp, path)
    return changed


def main(argv):
    check = argv == ["--check"]
    if argv and not check:
        raise SystemExit("usage: python tools/quote_results.py [--check]")
    try:
        if check:
            stale = [(fw, i) for fw in NOTEBOOKS for i, _, _ in stale_cells(fw)]
            for fw, i in stale:
                print(f"notebooks/{NOTEBOOKS[fw]}: cell {i} quotes out-of-date results")
            if stale:
                raise SystemExit("run `python tools/quote_results.py` to rewrite them")
            print("every quote equals its results")
            return
        for fw in NOTEBOOKS:
            print(f"notebooks/{NOTEBOOKS[fw]}: {rewrite(fw)} cell(s) rewritten")
    except QuoteError as e:
        raise SystemExit(f"quote_results: {e}")


if __name__ == "__main__":
    main(sys.argv[1:])
