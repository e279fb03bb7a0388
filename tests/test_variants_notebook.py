"""The sixth notebook (the other ResNet-18s): its stored outputs are the documents' shapes and the
counts that follow from the layer shapes, and its prose quotes only those numbers."""
import json
import re

import pytest

from d2l_compat.common.variants import (PUBLISHED_PARAMETERS, resnet_layer_shapes, resnet_multiply_adds,
                                        resnet_parameters, resnet_table)
from notebook_code import CHECK_MARKER, ROOT, notebook_path

NOTEBOOK = ROOT / "notebooks" / "6-variants.ipynb"
DOCUMENTS = ROOT.parent / "shared" / "reference" / "documents.md"

# The CIFAR-10 version's verbose forward on 1x3x96x96, as the documents print it
CIFAR_WALK = [("block1", "[1, 64, 45, 45]"), ("block2", "[1, 64, 22, 22]"), ("block3", "[1, 128, 11, 11]"),
              ("block4", "[1, 256, 6, 6]"), ("block5", "[1, 512, 1, 1]"), ("output", "[1, 10]")]
# The documents' CIFAR-10 training facts, quoted (not measured) in the notebook
TRAINING_FACTS = ["0.01", "64", "96", "[-1, 1]", "0.46", "0.73"]

R18 = resnet_layer_shapes("ResNet-18")
SHORTCUT_WEIGHTS = sum(layer.c_in * layer.c_out for layer in R18 if layer.shortcut)
EXTRA_3X3 = 8 * SHORTCUT_WEIGHTS                          # 9 c_in c_out instead of c_in c_out
CONV_BIASES = sum(layer.c_out for layer in R18 if layer.kind == "conv")
MAIN_3X3_BIASES = sum(layer.c_out for layer in R18 if layer.kind == "conv" and layer.kernel == 3)
STEM_BN = 2 * 64
BOOK_1_10 = resnet_parameters("ResNet-18", "book", 1, 10)
BOOK_3_10 = resnet_parameters("ResNet-18", "book", 3, 10)
CIFAR_3_10 = BOOK_3_10 - MAIN_3X3_BIASES - STEM_BN        # no 3x3 biases, no stem batch norm


def expected_checked_outputs():
    """(a piece of the cell's source, its expected output) for every checked cell, in order."""
    book, tv = resnet_parameters("ResNet-18", "book"), PUBLISHED_PARAMETERS["ResNet-18"]
    return [
        ("net = resnet18(in_channels=1", f"{BOOK_1_10:,}\nTrue\n"),
        ("X = torch.rand(1, 32, 96, 96)", "[1, 32, 96, 96]\n[1, 32, 48, 48]\n"),
        ("cifar_resnet().named_children()", "".join(f"{name}: {shape}\n" for name, shape in CIFAR_WALK)),
        ("torch.manual_seed(0)", "Residual False\nCifarResidual True\n"),
        ("shortcut_kernel=k", "1x1 shortcut: [4, 6, 3, 3]\n3x3 shortcut: [4, 6, 3, 3]\n"),
        ("three = num_params", f"1x1 shortcut: {BOOK_1_10:,}\n3x3 shortcut: {BOOK_1_10 + EXTRA_3X3:,}\n"
                               f"difference: {EXTRA_3X3:,} ({EXTRA_3X3 / BOOK_1_10:.1%})\n"),
        ("tv = tv_resnet18()", f"{tv:,}\nTrue\n"),
        ("d2l.resnet_table", resnet_table({"ResNet-18": tv}, {"ResNet-18": book}) + "\n"),
        ("count_macs(tv.eval()", f"{resnet_multiply_adds('ResNet-18') / 1e9:.3f}\nTrue\n"),
        ("versions = {", f"book: {BOOK_3_10:,}\nCIFAR-10: {CIFAR_3_10:,}\n3x3 shortcut: {BOOK_3_10 + EXTRA_3X3:,}\n"
                         f"torchvision: {resnet_parameters('ResNet-18', 'torchvision', 3, 10):,}\n"),
    ]


@pytest.fixture(scope="module")
def notebook():
    return json.loads(NOTEBOOK.read_text("utf-8"))


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def output_text(cell):
    return "".join("".join(o["text"] if o["output_type"] == "stream" else o["data"]["text/plain"])
                   for o in cell["outputs"])


def checked(nb):
    return [c for c in code_cells(nb) if "".join(c["source"]).startswith(CHECK_MARKER)]


def test_checked_outputs_are_the_expected_ones(notebook):
    cells = checked(notebook)
    expected = expected_checked_outputs()
    assert [key in "".join(c["source"]) for c, (key, _) in zip(cells, expected)] == [True] * len(expected)
    assert len(cells) == len(expected)
    for cell, (key, text) in zip(cells, expected):
        assert output_text(cell) == text, key


@pytest.mark.skipif(not DOCUMENTS.is_file(), reason="shared/reference/documents.md is not beside the checkout")
def test_walk_and_training_facts_are_the_documents():
    section = DOCUMENTS.read_text("utf-8").split("## Variants in the other documents")[1].split("\n## ")[0]
    assert all(f"{name} `{shape}`" in section for name, shape in CIFAR_WALK if name != "output")
    assert "output `[1, 10]`" in section
    assert all(fact in section for fact in TRAINING_FACTS)


def test_training_facts_are_quoted(notebook):
    text = "".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "markdown")
    training = text.split("## 训练")[1].split("## ")[0]
    assert all(fact in training for fact in TRAINING_FACTS)


def test_prose_quotes_only_printed_or_derived_counts(notebook):
    printed = set(re.findall(r"\d{1,3}(?:,\d{3})+", "".join(output_text(c) for c in code_cells(notebook))))
    derived = {f"{n:,}" for n in (CONV_BIASES, 2 * sum(layer.c_out for layer in R18 if layer.shortcut),
                                  CONV_BIASES - 2 * sum(layer.c_out for layer in R18 if layer.shortcut),
                                  MAIN_3X3_BIASES, BOOK_3_10 - CIFAR_3_10)}
    prose = "".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "markdown")
    quoted = {q.replace("{,}", ",") for q in re.findall(r"\d{1,3}(?:(?:,|\{,\})\d{3})+", prose)}
    assert quoted and quoted <= printed | derived, quoted - printed - derived


def test_every_printed_shape_is_compared(notebook):
    for cell in code_cells(notebook):
        source = "".join(cell["source"])
        if "shape" in source and cell["outputs"]:
            assert source.startswith(CHECK_MARKER), source


def test_stored_outputs_are_safe_for_nbval(notebook):
    for cell in code_cells(notebook):
        if cell["outputs"]:
            assert cell["execution_count"] is not None
        for out in cell["outputs"]:
            assert out.get("name") != "stderr"
            text = json.dumps(out)
            assert not re.search(r"0x[0-9a-f]{6,}", text)
            assert not re.search(r"(?<![\w.])/(home|root|tmp|work|Users|mnt)/", text)


def test_kernel_and_figures_follow_the_other_notebooks(notebook):
    first = json.loads(notebook_path("torch").read_text("utf-8"))
    assert notebook["metadata"]["kernelspec"] == first["metadata"]["kernelspec"]
    prose = "".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "markdown")
    for figure in re.findall(r"\]\(\.\./img/([\w.-]+)\)", prose):
        assert (ROOT / "img" / figure).is_file(), figure
