"""Five frameworks, one function: the whole comparison, one process per installed framework, stays within
its limits, and fails on a wrong import and on a wrong gradient; README shows the committed table."""
import copy
import importlib.util
import json

import numpy as np
import pytest

from d2l_compat import same_function as sf
from d2l_compat.common import weights

README = sf.ROOT / "README.md"
START, END = "<!-- same-function:start -->\n", "<!-- same-function:end -->"


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    """(workers, results, each framework's raw measurements, scratch folder) of one run, shared below."""
    if importlib.util.find_spec(sf.REFERENCE) is None:
        pytest.skip("the comparison needs PyTorch, its reference")
    scratch = tmp_path_factory.mktemp("same-function")
    workers, raw = sf.Workers(scratch), {}
    try:
        yield workers, sf.run(workers=workers, raw=raw), raw, scratch
    finally:
        workers.close()


def test_every_installed_framework_computes_pytorchs_function(comparison):
    _, results, _, _ = comparison
    assert sf.verdict(results) == []


def test_every_framework_but_mindspore_is_compared_in_float64(comparison):
    _, results, _, _ = comparison
    for fw, entry in results["frameworks"].items():
        assert ("float64" in entry["sizes"]["97"]) == (fw != "mindspore"), fw


def test_the_kink_free_weights_keep_every_relu_input_away_from_zero(comparison):
    _, results, _, _ = comparison
    for size, margins in results["margins"].items():
        assert margins["kink_free"]["relu"] >= sf.KINK_FREE_MARGIN > 100 * margins["random"]["relu"], size


def test_only_same_padding_separates_a_framework_at_96(comparison):
    _, results, _, _ = comparison
    for fw, entry in results["frameworks"].items():
        at96, at97 = entry["sizes"]["96"]["float32"]["inference"], entry["sizes"]["97"]["float32"]["inference"]
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
    workers, results, _, scratch = comparison
    importer = next((fw for fw in results["frameworks"] if fw not in sf.SAME_PADDING and fw != sf.REFERENCE),
                    sf.REFERENCE)
    wrong = scratch / f"{corrupt.__name__}.npz"
    weights.save_weights(corrupt(weights.random_weights(results["seed"])), wrong)
    logits, _ = workers.ask(importer, "round_trip", wrong, sf.fashion_mnist_batch(96)[0])
    broken = copy.deepcopy(results)
    found = sf.max_relative(logits, results["reference_logits"]["96"])
    broken["frameworks"][importer]["sizes"]["96"]["float32"]["inference"] = found
    assert (importer, "96", "float32 inference", found) in sf.verdict(broken)


# Scaled by 1.01 in every case the framework has: float64 judges each tensor, so any layer shows; the
# kink-free case judges the gradient as one vector, where the dense layer holds nearly all of its length.
WRONG_LAYER = {"float64": "stage2.block1.conv1.weight", "kink_free": "dense.weight"}


@pytest.mark.parametrize("case", ["float64", "kink_free"])
def test_a_gradient_one_percent_off_fails_the_comparison(comparison, case):
    _, results, raw, _ = comparison
    frameworks = [fw for fw in raw if fw != sf.REFERENCE and case in raw[fw]["sizes"][97]]
    if not frameworks:
        pytest.skip(f"no framework besides PyTorch is installed that has the {case} case")
    layer, reference = WRONG_LAYER[case], raw[sf.REFERENCE]
    for fw in frameworks:
        out = copy.deepcopy(raw[fw])
        out["sizes"][97][case]["gradients"][layer] = out["sizes"][97][case]["gradients"][layer] * np.float32(1.01)
        broken = copy.deepcopy(results)
        broken["frameworks"][fw]["sizes"]["97"] = sf.compare(out["sizes"][97], reference["sizes"][97], out["absent"],
                                                            reference["bn"], out["bn"], weights.batch_norm_counts(97, sf.BATCH))
        assert sf.verdict(results) == [] and any(
            where == fw and size == "97" and measure.startswith(case) for where, size, measure, _ in sf.verdict(broken)), fw


def test_readme_shows_the_committed_table():
    committed = sf.RESULTS.with_suffix(".md").read_text(encoding="utf-8")
    assert committed == sf.report(json.loads(sf.RESULTS.read_text(encoding="utf-8")))
    readme = README.read_text(encoding="utf-8")
    assert readme[readme.index(START) + len(START):readme.index(END)] == committed


def test_mxnet_gets_one_openmp_thread_per_engine_worker_where_more_would_hang():
    two = {"OMP_NUM_THREADS": "2", "MXNET_CPU_WORKER_NTHREADS": "2"}
    assert sf.worker_environment("mxnet", two)["OMP_NUM_THREADS"] == "1"
    assert sf.worker_environment("torch", two) == two
    assert sf.worker_environment("mxnet", {"OMP_NUM_THREADS": "2"}) == {"OMP_NUM_THREADS": "2"}
