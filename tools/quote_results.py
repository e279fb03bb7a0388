"""Write the numbers the notebooks quote into their prose, from the committed results.

Usage: python tools/quote_results.py [--check]

A quote is the text of a markdown cell between `<!-- quote:NAME -->` and `<!-- /quote -->` (HTML
comments: invisible in Jupyter). This tool rewrites every quote of notebooks 1-5 from its source;
with --check it changes nothing and exits 1, naming each stale quote. Sources:

  cpu        bench/results/latest.json     (`make bench`): 600,000 / train_96 seconds
  classroom  bench/results/classroom.json  (`make bench-classroom`): the framework's runs and curve
  budget     bench/results/classroom-budget.json (`make bench-classroom-budget`): the time budget's runs
  parallel   bench/results/parallel.json (`make bench-parallel`): 2 workers against one process
  exercises  bench/results/exercises.json  (`make bench-exercises`): the exercises' comparison runs
  bn         BN_DEFAULTS below; tests/test_bn_defaults.py checks it against each framework
  table1     d2l_compat/common/variants.py: Table 1's multiply-adds and the constructions' difference
  degradation bench/results/degradation.json (`make bench-degradation`): exercise 6's 18- and 34-layer nets
"""
import json
import math
import os
import pathlib
import re
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from d2l_compat.common import presets  # noqa: E402  (neither imports a framework)
from d2l_compat.parallel import ENGINES  # noqa: E402

import nbformat

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from d2l_compat.common import variants  # noqa: E402

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


def machine_zh(machine, table):
    """The machine as the Chinese prose names it ("一台 2 核 CPU"), linked to the README's table of the
    full record (`table`: that section's anchor)."""
    cores = machine.get("cores") if isinstance(machine, dict) else None
    if cores is None:
        found = re.search(r"(\d+) cores", str(machine))
        cores = found[1] if found else None
    what = f"一台 {cores} 核 CPU" if cores else "一台 CPU"
    return f"{what}（型号见 [README 的实测表](../README.md#{table})）"


def spaced(framework):
    """The framework's name before Chinese text: a Latin name takes a space, 飞桨 none (d2l-zh's spacing)."""
    return gap_after(NAMES[framework])


def gap_after(text):
    """`text` before Chinese text: with d2l-zh's space after a Latin word."""
    return text + (" " if text[-1].isascii() else "")


def gap_before(text):
    """`text` after Chinese text: with d2l-zh's space before a Latin word."""
    return (" " if text[0].isascii() else "") + text


def span(values, form):
    """`values` as the prose quotes a range: one value where `form` makes them all equal, else low–high."""
    low, high = form(min(values)), form(max(values))
    return low if low == high else f"{low}–{high}"


def framework_entry(name, make_target, framework):
    """`framework`'s entry of the results file `name`, or a QuoteError saying which `make` target writes it."""
    data = _load(name, make_target)
    if framework not in data.get("frameworks", {}):
        raise QuoteError(f"bench/results/{name} has no runs for {framework}: "
                         f"run `make {make_target}` with {framework} installed")
    return data, data["frameworks"][framework]


def _duration(seconds):
    return f"{seconds / 3600:.1f} 小时" if seconds >= 5400 else f"{seconds / 60:.0f} 分钟"


def quote_cpu(framework):
    """The CPU estimate for the documents' recipe, from `make bench`."""
    latest = _load("latest.json", "bench")
    rows = [r for r in latest.get("results", []) if r.get("framework") == framework and "train_96" in r]
    if not rows:
        raise QuoteError(f"bench/results/latest.json has no train_96 for {framework}: run `make bench`")
    rate = rows[0]["train_96"]
    return (f"`make bench` 于 {latest['date']} 在{machine_zh(latest['machine'], 'benchmarks')}上测得，"
            f"{spaced(framework)}按书中的训练设置每秒约训练 {rate:.0f} 张 $96\\times 96$ 的图片，"
            f"60 万张约需 {_duration(RECIPE_IMAGES / rate)}。")


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
    acc = (f"{accs[0]:.3f}" if len(accs) == 1 else f"均为 {accs[0]:.3f}" if accs[0] == accs[-1]
           else f"{accs[0]:.3f}–{accs[-1]:.3f}")
    png = fw["curve_png"]
    if not (ROOT / png).is_file():
        raise QuoteError(f"{png} (named in bench/results/classroom.json) is missing: run `make bench-classroom`")
    met = "达到" if fw["met"] else "未达到"
    return (f"{data['preset']['description_zh'].rstrip('。')}。`make bench-classroom` 于 {data['date']} 在"
            f"{machine_zh(data['machine'], 'running-the-notebooks')}上实测{gap_before(NAMES[framework])} {len(accs)} 次：测试精度 {acc}，训练用时至多 "
            f"{fw['max_training_seconds'] / 60:.1f} 分钟，{met}“{target['training_seconds'] / 60:g} 分钟内测试精度"
            f"不低于 {target['test_acc']:g}”的目标。")


def quote_budget(framework):
    """The time-budget classroom preset's measured runs, from `make bench-classroom-budget`."""
    data, entry = framework_entry("classroom-budget.json", "bench-classroom-budget", framework)
    runs = entry["runs"]
    images = span([r["train_images"] for r in runs], str)
    accs = span([r["test_acc"] for r in runs], lambda a: f"{a:.3f}")
    modes = "、".join(f"`{name}`" for name in sorted({r["mode"] for r in runs if r["mode"]}))
    mode = f"，各次选的执行模式是 {modes}" if modes else ""
    return (f"`make bench-classroom-budget` 于 {data['date']} 在{machine_zh(data['machine'], 'running-the-notebooks')}"
            f"上实测{gap_before(NAMES[framework])} {len(runs)} 次（{data['minutes']:g} 分钟）："
            f"训练了 {images} 张图像{mode}，测试精度 {accs}，整格（读数据、训练和最后的测试）用时至多 "
            f"{max(r['wall_seconds'] for r in runs) / 60:.1f} 分钟。")


def quote_parallel(framework):
    """The classroom recipe on 2 workers against one process, from `make bench-parallel`."""
    data, fw = framework_entry("parallel.json", "bench-parallel", framework)
    one, many = fw["one_process"], fw["workers"]

    def accs(side):
        return span(side["test_acc"], lambda a: f"{a:.3f}")
    change = round(abs(fw["speedup"] - 1) * 100)
    unit = "工作进程" if ENGINES[framework].launcher else "设备"
    than = "与不拆分时相当" if change == 0 else f"比不拆分时{'快' if fw['speedup'] > 1 else '慢'} {change}%"
    steps = data["images"] // presets.CLASSROOM.batch_size
    bn = BN_DEFAULTS[framework]
    lag = ((1 - bn["momentum"]) ** steps > 0.05) * (
        f"只训练了 {steps} 步，{spaced(framework)}的批量规范化层按动量 {bn['default']:g} 更新移动平均，还远没有跟上，"
        "所以这两个测试精度不能用来比较两种训练。")
    return (f"`make bench-parallel` 于 {data['date']} 在{machine_zh(data['machine'], PARALLEL_ANCHOR)}上实测"
            f"{gap_before(NAMES[framework])} {len(fw['runs'])} 次（课堂模式的设置，"
            f"共 {data['images']} 张训练图像）：不拆分的训练（一个进程、一个设备）每秒约 {one['examples_per_sec']:.0f} "
            f"张图像，{data['workers']} 个{unit}每秒约 {many['examples_per_sec']:.0f} 张（中位数，计入全部{unit}），"
            f"{than}；测试精度分别为 {accs(one)} 和 {accs(many)}。{lag}")



PARALLEL_ANCHOR = "running-the-notebooks"  # the README's table with the classroom's


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
        own += ("：移动平均追得很慢，训练步数很少时，用它算出的测试精度会明显低于训练精度"
                "（PyTorch 的 0.1 相当于 Keras 的 `momentum=0.9`）")
    if bn.get("update") == "backward":
        own += "；MXNet 在反向传播时才更新移动平均，只做前向计算不会改变它"
    everyone = "，".join(f"{NAMES[fw]} {b['momentum']:g}" for fw, b in BN_DEFAULTS.items())
    return ("本项目统一按 PyTorch 的约定写动量 $m$：每个训练批量之后，移动平均 ← $(1-m)\\cdot$移动平均 "
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
            f"净多 {difference:,} 个。\n\n乘加次数有两列。论文把瓶颈块的步幅放在第一个 $1\\times 1$ 卷积上（GMACs 1x1）。"
            f"这样算出的五个网络的乘加次数是 {fmt(f'{p:.3f}' for p in paper)}（$\\times 10^9$），"
            f"论文表中是 {fmt(f'{variants.PAPER_GFLOPS[n]:g}' for n in names)}，相差都不到 $0.1\\times 10^9$。"
            f"torchvision 把步幅移到 $3\\times 3$ 卷积上（GMACs 3x3，即“ResNet v1.5”，精度更好），"
            f"{fmt(moved)} 因此变成 {fmt(f'{m:.3f}' for m in moved.values())}。"
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
    rows = ["| 框架 | 迭代周期 | " + " | ".join(heads) + " | 每个网络的训练用时 |",
            "|---|---:|" + "---:|" * len(heads) + "---:|"]
    for fw in measured:
        runs = data["frameworks"][fw]["runs"]
        cells = [f"{runs[v]['test_acc']:.3f}（{runs[v]['train_acc']:.3f}）" for v in heads]
        minutes = sorted(f"{runs[v]['training_seconds'] / 60:.1f}" for v in heads)
        span = minutes[0] if minutes[0] == minutes[-1] else f"{minutes[0]}–{minutes[-1]}"
        name = f"**{NAMES[fw]}**" if fw == framework else NAMES[fw]
        rows.append(f"| {name} | {runs[heads[0]]['epochs']} | " + " | ".join(cells) + f" | {span} 分钟 |")
    missing = [NAMES[fw] for fw in NOTEBOOKS if fw not in measured]
    who = "五个框架" if not missing else "、".join(NAMES[fw] for fw in measured) + f"（{gap_after('、'.join(missing))}未测）"
    if framework in measured:
        runs = data["frameworks"][framework]["runs"]
        own = (f"本笔记本的 {spaced(framework)}一行加粗："
               + "，".join(f"{gap_after(v)}的测试精度为 {runs[v]['test_acc']:.3f}" for v in heads) + "。")
    else:
        own = f"{spaced(framework)}还没有实测结果（运行 `make bench-exercises`）。"
    return (f"\n\n`make bench-exercises` 于 {data['date']} 在{machine_zh(data['machine'], 'benchmarks')}上用课堂模式"
            f"实测了{gap_before(who)}，每个网络训练一次。表中是测试精度，括号内是训练精度。{own}\n\n"
            + "\n".join(rows) + "\n\n")


# (deeper, shallower) pairs the degradation quote compares, in this order
DEGRADATION_PAIRS = (("普通网络-34", "普通网络-18"), ("ResNet-34", "普通网络-34"), ("ResNet-34", "ResNet-18"))


def quote_degradation(framework):
    """Exercise 6's 18- and 34-layer nets: the framework's four final losses, its curves, every framework's row."""
    path = RESULTS / "degradation.json"
    if not path.is_file():
        return "\n\n还没有实测结果：运行 `make bench-degradation` 之后，`tools/quote_results.py` 会把它们写在这里。\n\n"
    data = json.loads(path.read_text("utf-8"))
    if not isinstance(data, dict) or not {"date", "machine", "variants", "frameworks"} <= set(data):
        raise QuoteError("bench/results/degradation.json is not in the shape bench/degradation.py writes; "
                         "run `make bench-degradation` again")
    heads, measured = data["variants"], [fw for fw in NOTEBOOKS if fw in data["frameworks"]]
    rows = ["| 框架 | " + " | ".join(heads) + " | 四个网络的训练用时 |", "|---|" + "---:|" * len(heads) + "---:|"]
    for fw in measured:
        runs = data["frameworks"][fw]["runs"]
        name = f"**{NAMES[fw]}**" if fw == framework else NAMES[fw]
        minutes = sum(runs[v]["training_seconds"] for v in heads) / 60
        rows.append(f"| {name} | " + " | ".join(f"{runs[v]['final_loss']:.3f}" for v in heads)
                    + f" | {minutes:.1f} 分钟 |")
    if framework in measured:
        runs = data["frameworks"][framework]["runs"]
        images = data["frameworks"][framework]["preset"]["train_images"]
        loss = {v: runs[v]["final_loss"] for v in heads}
        stuck = [v for v in heads if loss[v] > 0.9 * math.log(10)]
        own = (f"下图是 {gap_after(NAMES[framework])}的四条训练损失曲线（前 {images} 张训练图像，一个迭代周期），"
               "表中是每条曲线最后四分之一的平均训练损失，本笔记本的一行加粗。"
               + "".join(f"{gap_after(a)}的 {loss[a]:.3f} 比{gap_before(gap_after(b))}的 {loss[b]:.3f} "
                         f"{'高' if loss[a] > loss[b] else '低'}。"
                         for a, b in DEGRADATION_PAIRS if a in loss and b in loss)
               + (f"{gap_after('、'.join(stuck))}几乎停在 $\\ln 10\\approx 2.30$ 附近，这是十个类别随机猜测时的损失。" if stuck else "")
               + "\n\n"
               f"![{NAMES[framework]}：18 层与 34 层的普通网络和 ResNet 的训练损失](attachment:degradation-{framework}.png)")
    else:
        own = f"{gap_after(NAMES[framework])}还没有实测结果（运行 `make bench-degradation`）。"
    missing = [NAMES[fw] for fw in NOTEBOOKS if fw not in measured]
    who = "五个框架" if not missing else "、".join(NAMES[fw] for fw in measured) + f"（{gap_after('、'.join(missing))}未测）"
    return (f"\n\n`make bench-degradation` 于 {data['date']} 在{machine_zh(data['machine'], 'benchmarks')}上实测了"
            f"{gap_before(who)}，每个网络训练一次。{own}\n\n" + "\n".join(rows) + "\n\n")


QUOTES = {"cpu": quote_cpu, "classroom": quote_classroom, "budget": quote_budget, "parallel": quote_parallel, "bn": quote_bn, "table1": quote_table1,
          "exercises": quote_exercises, "degradation": quote_degradation}


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
