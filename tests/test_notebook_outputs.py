"""The notebooks' stored outputs: the documents' shapes, and nothing that would break nbval."""
import json
import pathlib
import re

import pytest

from notebook_code import CHECK_MARKER, NOTEBOOKS, ROOT, code_cells

REFERENCE = json.loads((pathlib.Path(__file__).parent / "reference_outputs.json").read_text("utf-8"))
SANITIZE = re.findall(r"^regex: (.*)$\n^replace: (.*)$",
                      (pathlib.Path(__file__).parent / "nbval_sanitize.cfg").read_text(), re.MULTILINE)
DOCUMENTS = ROOT.parent / "shared" / "reference" / "documents.md"
ALL = pytest.mark.parametrize("name", sorted(NOTEBOOKS))


def sanitized(text):
    for regex, replace in SANITIZE:
        text = re.sub(regex, replace, text)
    return text


def output_text(outputs):
    """The text nbval would compare for a cell: stdout, or the result's text/plain."""
    texts = [o["text"] if o["output_type"] == "stream" else o["data"]["text/plain"] for o in outputs]
    return sanitized("".join("".join(t) for t in texts))


def checked_cells(name):
    return [(s, o) for s, o, _ in code_cells(name) if s.startswith(CHECK_MARKER)]


@ALL
def test_shape_cells_equal_the_documents(name):
    cells = checked_cells(name)[:3]  # the exercises' checked cells follow the training section
    assert all("Residual(" in s for s, _ in cells[:2]) and "for layer in" in cells[2][0], \
        "the first checked cells are the two Residual checks and the shape walk"
    got = [output_text(outputs) for _, outputs in cells]
    expected = REFERENCE[name]
    assert got == [expected["check1"], expected["check2"], expected["walk"]]


@ALL
def test_exercise_shape_cells_equal_the_reference(name):
    expected = REFERENCE[name]["exercises"]
    found = {}
    for source, outputs in checked_cells(name)[3:]:
        keys = [key for key in expected if key in source]
        assert len(keys) <= 1, f"{name}: one checked cell prints several exercise shapes: {keys}"
        if keys:
            found[keys[0]] = output_text(outputs)
    assert found == expected


@ALL
def test_every_printed_shape_is_compared(name):
    for source, outputs, _ in code_cells(name):
        if "shape" in source and outputs:
            assert source.startswith(CHECK_MARKER), f"unchecked shape output in {name}:\n{source}"


@ALL
def test_stored_outputs_are_safe_for_nbval(name):
    for source, outputs, count in code_cells(name):
        if outputs:
            assert count is not None, "a cell with outputs needs an execution count for nbval"
        for out in outputs:
            assert out.get("name") != "stderr", f"stderr stored in {name}: {source[:60]}"
            text = json.dumps(out)
            assert not re.search(r"0x[0-9a-f]{6,}", text), "a memory address would differ on every run"
            assert not re.search(r"(?<![\w.])/(home|root|tmp|work|Users|mnt)/", text), "a local path"
            assert "examples/sec" not in text, "timings are not stored"


def test_sanitize_rule_maps_only_paddle_shapes():
    assert SANITIZE and len(SANITIZE) == 1
    assert sanitized("X paddle.Size([1, 64, 56, 56])") == "X [1, 64, 56, 56]"
    assert sanitized("torch.Size([1, 64, 56, 56])") == "torch.Size([1, 64, 56, 56])"


@pytest.mark.skipif(not DOCUMENTS.is_file(), reason="shared/reference/documents.md is not beside the checkout")
def test_reference_file_agrees_with_the_documents():
    documents = DOCUMENTS.read_text("utf-8")
    for name in NOTEBOOKS:
        for line in REFERENCE[name]["walk"].splitlines():
            assert line in documents, f"{name}: {line!r} is not in documents.md"
        for check in ("check1", "check2"):
            assert REFERENCE[name][check] in documents
