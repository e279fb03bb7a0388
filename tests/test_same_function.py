"""Five frameworks, one function: the whole comparison, one process per installed framework, stays within
its limits and fails on a wrong import; README shows the committed table."""
import copy
import importlib.util
import json

import pytest

from d2l_compat import same_function as sf
from d2l_compat.common import weights

README = sf.ROOT / "README.md"
START, END = "<!-- same-function:start -->\n", "<!-- same-function:end -->"


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    """(workers, results, scratch folder) of one run, shared by the tests below."""
    if importlib.util.find_spec(sf.REFERENCE) is None:
        pytest.skip("the comparison needs PyTorch, its reference")
    scratch = tmp_path_factory.mktemp("same-function")
    workers = sf.Workers(scratch)
    try:
        yield workers, sf.run(workers=workers, float64=False), scratch
    finally:
        workers.close()


def test_every_installed_framework_computes_pytorchs_function(comparison):
    _, results, _ = comparison
    assert sf.verdict(results) == []


def test_only_same_padding_separates_a_framework_at_96(comparison):
    _, results, _ = comparison
    for fw, entry in results["frameworks"].items():
        at96, at97 = entry["sizes"]["96"]["inference"], entry["sizes"]["97"]["inference"]
        assert at97 <= sf.TOLERANCE["inference"], fw
        assert (at96 > 100 * sf.TOLERANCE["inference"]) == (fw in sf.SAME_PADDING), (fw, at96)


def _hwio_read_as_oihw(w):
    w = dict(w)
    kernel = w["stage2.block1.conv1.weight"]
    w["stage2.block1.conv1.weight"] = kernel.transpose(2, 3, 1, 0).reshape(kernel.shape)
    return w


def _blocks_swapped(w):
    first, second = "stage1.block1.", "stage1.block2."
    return {(second + k[len(first):] if k.startswith(first) else first + k[len(second):] if k.startswith(second)
             else k): v for k, v in w.items()}


@pytest.mark.parametrize("corrupt", [_hwio_read_as_oihw, _blocks_swapped], ids=["kernel-left-HWIO", "blocks-swapped"])
def test_a_wrong_import_fails_the_comparison(comparison, corrupt):
    workers, results, scratch = comparison
    importer = next((fw for fw in results["frameworks"] if fw not in sf.SAME_PADDING and fw != sf.REFERENCE),
                    sf.REFERENCE)
    wrong = scratch / f"{corrupt.__name__}.npz"
    weights.save_weights(corrupt(weights.random_weights(results["seed"])), wrong)
    logits, _ = workers.ask(importer, "round_trip", wrong, sf.fashion_mnist_batch(96)[0])
    broken = copy.deepcopy(results)
    found = sf.max_relative(logits, results["reference_logits"]["96"])
    broken["frameworks"][importer]["sizes"]["96"]["inference"] = found
    assert (importer, "96", "inference", found) in sf.verdict(broken)


def test_readme_shows_the_committed_table():
    committed = sf.RESULTS.with_suffix(".md").read_text(encoding="utf-8")
    assert committed == sf.report(json.loads(sf.RESULTS.read_text(encoding="utf-8")))
    readme = README.read_text(encoding="utf-8")
    assert readme[readme.index(START) + len(START):readme.index(END)] == committed
