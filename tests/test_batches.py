"""The framework-neutral batching: counts, layout, value range, shuffling and test-set order."""
import numpy as np
import pytest

from d2l_compat.common import presets
from d2l_compat.common.data import Batches, load_data_fashion_mnist, prepared_arrays
from d2l_compat.common.layout import layout_of, nchw_shape

identity = lambda X, y: (X, y)  # noqa: E731


@pytest.fixture
def no_preset(monkeypatch):
    monkeypatch.delenv(presets.SMOKE_ENV, raising=False)
    presets.classroom_preset(False)


def test_full_sets_have_60000_and_10000_examples(no_preset):
    train_iter, test_iter = load_data_fashion_mnist(256, None, "torch", identity)
    assert train_iter.num_examples == 60000 and test_iter.num_examples == 10000
    assert len(train_iter) == 235 and len(test_iter) == 40
    assert sum(len(y) for _, y in test_iter) == 10000  # the last, smaller batch is kept


@pytest.mark.parametrize("name, shape", [("torch", (256, 1, 96, 96)),
                                              ("tensorflow", (256, 96, 96, 1))])
def test_layout_value_range_and_dtypes(no_preset, name, shape):
    _, test_iter = load_data_fashion_mnist(256, 96, name, identity)
    X, y = next(iter(test_iter))
    assert X.shape == shape and X.dtype == np.float32 and y.dtype == np.int32
    assert X.min() >= 0.0 and X.max() <= 1.0 and X.max() > 0.9
    assert nchw_shape(X.shape, name) == (256, 1, 96, 96)


def test_layouts_are_decided_in_one_place():
    assert [layout_of(f) for f in ("torch", "tensorflow", "mxnet", "paddle", "mindspore")] == \
        ["NCHW", "NHWC", "NCHW", "NCHW", "NCHW"]
    with pytest.raises(ValueError, match="4-D"):
        nchw_shape((1, 2, 3), "torch")


def test_test_set_order_is_fixed_and_training_set_is_shuffled_by_example():
    images = np.arange(10, dtype=np.uint8).repeat(4).reshape(10, 2, 2)
    labels = np.arange(10, dtype=np.int32)
    test = Batches(images, labels, 4, False, "torch", identity)
    assert [list(y) for _, y in test] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    train = Batches(images, labels, 4, True, "torch", identity, seed=0)
    first, second = [np.concatenate([y for _, y in train]) for _ in range(2)]
    assert sorted(first) == list(range(10)) and not np.array_equal(first, second)
    # examples, not whole batches, move: some batch holds labels that were never neighbours
    assert any(np.ptp(y) > 3 for _, y in train)


def test_pixels_match_their_labels_after_shuffling():
    images = np.arange(6, dtype=np.uint8).repeat(4).reshape(6, 2, 2) * 40
    labels = np.arange(6, dtype=np.int32)
    for X, y in Batches(images, labels, 4, True, "tensorflow", identity, seed=3):
        assert np.allclose(X[:, 0, 0, 0] * 255, y * 40)


def test_resizing_happens_once_per_setting(no_preset):
    prepared_arrays.cache_clear()
    load_data_fashion_mnist(256, 32, "torch", identity)
    load_data_fashion_mnist(128, 32, "mxnet", identity)
    assert prepared_arrays.cache_info().misses == 1


def test_smoke_preset_shrinks_the_sets(monkeypatch):
    monkeypatch.setenv(presets.SMOKE_ENV, "1")
    train_iter, test_iter = load_data_fashion_mnist(64, 96, "torch", identity)
    assert train_iter.num_examples == presets.SMOKE.train_size
    assert test_iter.num_examples == presets.SMOKE.test_size
    assert next(iter(train_iter))[0].shape == (64, 1, 96, 96)


def test_classroom_preset_switch(no_preset):
    presets.classroom_preset(True)
    try:
        train_iter, _ = load_data_fashion_mnist(256, 96, "torch", identity)
        assert train_iter.num_examples == presets.TRAINING_IMAGES  # a time budget: train_ch6 stops in time
        X, _ = next(iter(train_iter))
        assert X.shape[-1] == 28 and X.shape[0] == presets.CLASSROOM.batch_size  # 28x28, its batch size
        presets.classroom_preset(True, images=presets.CLASSROOM_IMAGES)
        train_iter, _ = load_data_fashion_mnist(256, 96, "torch", identity)
        assert train_iter.num_examples == presets.CLASSROOM.train_size
    finally:
        presets.classroom_preset(False)
    with pytest.raises(TypeError, match="True or False"):
        presets.classroom_preset("yes")


@pytest.mark.parametrize("batch_size, error", [(0, ValueError), (-5, ValueError), (2.5, TypeError),
                                               ("256", TypeError), (True, TypeError), (None, TypeError)])
def test_bad_batch_size(batch_size, error):
    with pytest.raises(error, match="batch_size must be a positive integer"):
        load_data_fashion_mnist(batch_size, None, "torch", identity)


@pytest.mark.parametrize("resize, error", [(0, ValueError), (-96, ValueError), ("96", TypeError),
                                           (96.0, TypeError)])
def test_bad_resize(resize, error):
    with pytest.raises(error, match="resize must be a positive integer"):
        load_data_fashion_mnist(256, resize, "torch", identity)


def test_a_preset_can_give_one_framework_more_epochs():  # the learning test gives TensorFlow a third
    preset = presets.Preset("test", 64, 64, 2, epochs_by_framework=(("tensorflow", 3),))
    assert preset.epochs_for("tensorflow") == 3 and preset.epochs_for("paddle") == 2
    assert presets.SMOKE.epochs_for("torch") == 1
    assert "训练 3 个迭代周期（代替 10 个）" in preset.banner(10, None, 64, "tensorflow")
