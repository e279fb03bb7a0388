"""The shared weight file: canonical names and shapes, clear errors, atomic writes, exact bias folding,
and each framework's export_weights / import_weights on its notebook's own ResNet-18."""
import contextlib
import io
import json

import numpy as np
import pytest

from d2l_compat.common import layout, weights
from d2l_compat.same_function import RESULTS
from notebook_code import build_namespace


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    path = tmp_path_factory.mktemp("weights") / "reference.npz"
    weights.save_weights(weights.random_weights(0), path)
    return path


def test_names_and_shapes_are_the_notebooks_resnet18():
    shapes = {name: shape for name, (_, _, shape) in weights.SHAPES.items()}
    assert shapes["stem.conv.weight"] == (64, 1, 7, 7)
    assert shapes["stage2.block1.conv3.weight"] == (128, 64, 1, 1)
    assert "stage2.block2.conv3.weight" not in shapes  # only a block that changes the channels has one
    assert shapes["stage4.block2.bn2.running_var"] == (512,) and shapes["dense.weight"] == (10, 512)
    trainable = sum(int(np.prod(s)) for n, s in shapes.items() if "running" not in n)
    assert trainable == 11_178_378  # PyTorch's count for the notebook's net (tests/test_parameter_counts.py)


def test_random_weights_are_reproducible_and_complete():
    a, b = weights.random_weights(3), weights.random_weights(3)
    assert set(a) == set(weights.SHAPES) and all(np.array_equal(a[k], b[k]) for k in a)
    assert all(a[k].dtype == np.float32 for k in a) and a["stem.conv.bias"].any()
    assert not np.array_equal(a["dense.weight"], weights.random_weights(4)["dense.weight"])


def test_save_then_load_gives_the_same_numbers(reference):
    drawn = weights.random_weights(0)
    assert all(np.array_equal(v, drawn[k]) for k, v in weights.load_weights(reference).items())


def test_missing_tensor_is_named_with_its_shape(tmp_path, reference):
    stored = dict(np.load(reference))
    del stored["stage3.block1.conv3.weight"]
    np.savez(tmp_path / "short.npz", **stored)
    with pytest.raises(weights.WeightFileError,
                       match=r"lacks 1 tensor.*stage3\.block1\.conv3\.weight \(256, 128, 1, 1\)"):
        weights.load_weights(tmp_path / "short.npz")


def test_wrong_layout_is_named_with_the_expected_shape(tmp_path, reference):
    stored = dict(np.load(reference))
    stored["stage1.block1.conv1.weight"] = stored["stage1.block1.conv1.weight"].transpose(2, 3, 1, 0)  # HWIO
    np.savez(tmp_path / "hwio.npz", **stored)
    with pytest.raises(weights.WeightFileError,
                       match=r"stage1\.block1\.conv1\.weight has shape \(3, 3, 64, 64\), "
                             r"expected \(64, 64, 3, 3\) \(OIHW"):
        weights.load_weights(tmp_path / "hwio.npz")


def test_unknown_tensor_missing_file_and_not_a_file(tmp_path, reference):
    stored = dict(np.load(reference), **{"stage5.block1.conv1.weight": np.zeros(3)})
    np.savez(tmp_path / "extra.npz", **stored)
    with pytest.raises(weights.WeightFileError, match="does not have: stage5.block1.conv1.weight"):
        weights.load_weights(tmp_path / "extra.npz")
    with pytest.raises(FileNotFoundError, match="no weight file at .*export_weights"):
        weights.load_weights(tmp_path / "nowhere.npz")
    (tmp_path / "text.npz").write_text("not numbers")
    with pytest.raises(weights.WeightFileError, match="is not an .npz weight file"):
        weights.load_weights(tmp_path / "text.npz")


def test_a_failed_save_leaves_nothing_behind(tmp_path):
    bad = dict(weights.random_weights(0), **{"dense.bias": np.full(10, np.nan, np.float32)})
    with pytest.raises(weights.WeightFileError, match="dense.bias must hold finite numbers"):
        weights.save_weights(bad, tmp_path / "w.npz")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["tensorflow", "paddle"])  # the two that store kernels otherwise
def test_kernel_layouts_round_trip(name):
    kernel, dense = np.arange(2 * 3 * 4 * 5.0).reshape(2, 3, 4, 5), np.arange(6.0).reshape(2, 3)
    theirs = layout.weight_to_framework("conv", kernel, name)
    assert np.array_equal(layout.weight_from_framework("conv", theirs, name), kernel)
    assert np.array_equal(layout.weight_to_framework("dense", dense, name), dense.T)
    if name == "tensorflow":
        assert theirs.shape == (4, 5, 3, 2) and theirs[1, 2, 0, 1] == kernel[1, 0, 1, 2]  # HWIO


def _batch_norm(x, w, field):
    g, b, m, v = (w[f"{field}.{k}"][None, :, None, None] for k in ("gamma", "beta", "running_mean", "running_var"))
    return g * (x - m) / np.sqrt(v + weights.BN_EPSILON) + b


def test_folding_a_bias_is_exact_in_inference_and_training_mode():
    w = {k: v.astype(np.float64) for k, v in weights.random_weights(1).items()}
    folded = weights.fold_biases(w, ["stage2.block1.conv2", "stage2.block1.conv3"])
    assert not folded["stage2.block1.conv2.bias"].any() and not folded["stage2.block1.conv3.bias"].any()
    x = np.random.default_rng(0).normal(size=(4, 128, 3, 3))        # conv2's output without its bias
    shortcut = np.random.default_rng(1).normal(size=(4, 128, 3, 3))  # conv3's output without its bias

    def block_out(w, training):
        y = x + w["stage2.block1.conv2.bias"][None, :, None, None]
        if training:  # batch statistics replace the running ones
            stats = dict(w, **{"stage2.block1.bn2.running_mean": y.mean(axis=(0, 2, 3)),
                               "stage2.block1.bn2.running_var": y.var(axis=(0, 2, 3))})
            return _batch_norm(y, stats, "stage2.block1.bn2") + shortcut + w["stage2.block1.conv3.bias"][:, None, None]
        return _batch_norm(y, w, "stage2.block1.bn2") + shortcut + w["stage2.block1.conv3.bias"][:, None, None]

    for training in (False, True):
        assert np.abs(block_out(w, training) - block_out(folded, training)).max() < 1e-12


# ---- each framework, on the notebook's own net ---------------------------------------------------

def test_export_of_an_import_gives_back_the_file(d2l, framework, reference, tmp_path):
    with contextlib.redirect_stdout(io.StringIO()):
        net = build_namespace(framework)["net"]
    net = d2l.import_weights(net, reference)
    d2l.export_weights(net, tmp_path / "again.npz")
    given, again = weights.load_weights(reference), weights.load_weights(tmp_path / "again.npz")
    if framework == "mindspore":  # no convolution biases: exported as zeros, folded on import
        given = weights.fold_biases(given, [name for name, kind, _ in weights.layers() if kind == "conv"])
        assert not any(again[n].any() for n in given if n.endswith(".bias") and weights.SHAPES[n][0] == "conv")
    assert all(np.array_equal(again[k], given[k]) for k in given)
    with pytest.raises(FileNotFoundError, match="no weight file"):
        d2l.import_weights(net, tmp_path / "missing.npz")


def test_an_object_that_is_not_a_net_is_refused(d2l, reference):
    with pytest.raises(TypeError, match="must (be|return) a"):
        d2l.import_weights(object(), reference)


def test_batch_norm_behaves_as_the_committed_table_says(d2l, framework):
    committed = json.loads(RESULTS.read_text())["frameworks"].get(framework)
    if committed is None:
        pytest.skip(f"{RESULTS.name} has no {framework} entry")
    assert d2l.batch_norm_settings() == committed["bn"]


@pytest.mark.frameworks("tensorflow")
def test_keras_export_converts_a_variance_kept_for_its_own_epsilon(d2l, framework, reference, tmp_path):
    with contextlib.redirect_stdout(io.StringIO()):
        model = d2l.import_weights(build_namespace(framework)["net"], reference)  # epsilon now 1e-5
    for layer in model.layers:
        if hasattr(layer, "epsilon"):
            layer.epsilon = 1e-3  # as a model trained with Keras' default
    d2l.export_weights(model, tmp_path / "keras.npz")
    given, again = weights.load_weights(reference), weights.load_weights(tmp_path / "keras.npz")
    assert np.allclose(again["stem.bn.running_var"], given["stem.bn.running_var"] + 1e-3 - 1e-5, rtol=0, atol=1e-7)
