"""try_gpu with each framework's device query faked: which device it picks, and the name train_ch6 prints."""
import pytest

# The documents' device names on a GPU; MindSpore's documents print none, so it is named the way
# MindSpore names a device tensor's place ("GPU:0"). On a CPU the names stay the frameworks' own.
GPU_NAMES = {"torch": "cuda:{i}", "tensorflow": "/GPU:{i}", "mxnet": "gpu({i})", "paddle": "Place(gpu:{i})",
             "mindspore": "GPU:{i}"}
CPU_NAMES = {"torch": "cpu", "tensorflow": "/CPU:0", "mxnet": "cpu(0)", "paddle": "Place(cpu)", "mindspore": "CPU"}


class _FakeCUDAPlace:
    """Paddle's CPU build cannot make a CUDAPlace; this stands in for one."""

    def __init__(self, i):
        self.i = i

    def get_device_id(self):
        return self.i

    def __str__(self):  # Paddle's own spelling of a CUDAPlace, as in the documents
        return f"Place(gpu:{self.i})"


def _fake_gpus(framework, monkeypatch, count):
    """Make `framework` report `count` GPUs through the query its try_gpu uses."""
    if framework == "torch":
        import torch
        monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
    elif framework == "tensorflow":
        import tensorflow as tf
        real = tf.config.list_physical_devices
        gpus = [tf.config.PhysicalDevice(f"/physical_device:GPU:{i}", "GPU") for i in range(count)]
        monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: gpus if kind == "GPU" else real(kind))
    elif framework == "mxnet":
        import mxnet as mx
        monkeypatch.setattr(mx.context, "num_gpus", lambda: count)
    elif framework == "paddle":
        import paddle
        monkeypatch.setattr(paddle.device.cuda, "device_count", lambda: count)
        monkeypatch.setattr(paddle, "CUDAPlace", _FakeCUDAPlace)
    else:
        import mindspore as ms

        def device_count():  # as MindSpore's: an error, not 0, where its GPU plugin did not load
            if not count:
                raise RuntimeError("Device_target GPU not exist.")
            return count
        monkeypatch.setattr(ms.device_context.gpu, "is_available", lambda: count > 0)
        monkeypatch.setattr(ms.device_context.gpu, "device_count", device_count)


def _printed_name(d2l, framework, device):
    """The name train_ch6 prints after 'examples/sec on' for `device`."""
    return d2l._device_name(device) if framework == "tensorflow" else str(device)


def test_try_gpu_picks_the_asked_gpu_and_prints_the_documents_name(d2l, framework, monkeypatch):
    _fake_gpus(framework, monkeypatch, 2)
    for i in (0, 1):
        device = d2l.try_gpu(i) if i else d2l.try_gpu()
        assert _printed_name(d2l, framework, device) == GPU_NAMES[framework].format(i=i)
    with pytest.raises(ValueError, match="there is no GPU 2: this machine has 2 GPU"):
        d2l.try_gpu(2)


def test_try_gpu_without_a_gpu_gives_the_cpu_and_its_usual_name(d2l, framework, monkeypatch):
    _fake_gpus(framework, monkeypatch, 0)
    for i in (0, 3):  # any index falls back to the CPU, as in the book
        assert _printed_name(d2l, framework, d2l.try_gpu(i)) == CPU_NAMES[framework]


@pytest.mark.frameworks("paddle")
def test_paddle_selects_the_place_it_hands_to_set_device(d2l, framework, monkeypatch):
    _fake_gpus(framework, monkeypatch, 2)
    assert d2l._device_name(d2l.try_gpu(1)) == "gpu:1"


@pytest.mark.frameworks("mindspore")
@pytest.mark.parametrize("device, target, index", [("GPU:1", "GPU", 1), ("GPU", "GPU", 0), ("CPU", "CPU", 0)])
def test_mindspore_device_names_set_its_target_and_index(d2l, framework, monkeypatch, device, target, index):
    import mindspore as ms
    chosen = {}
    monkeypatch.setattr(ms, "set_context", lambda **kw: chosen.update(kw))
    d2l._use(d2l._check_device(device))
    assert chosen == {"device_target": target, "device_id": index}
    for wrong in ("GPU:x", "gpu", "TPU:0", 0):
        with pytest.raises(TypeError, match="device must be a MindSpore device"):
            d2l._check_device(wrong)
