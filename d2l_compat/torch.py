"""d2l's helpers for the PyTorch ResNet chapter: `from d2l_compat import torch as d2l`."""

__all__ = ["Accumulator", "Animator", "Timer", "classroom_preset", "evaluate_accuracy_gpu",
           "load_data_fashion_mnist", "nchw_shape", "train", "train_ch6", "train_mode", "train_parallel", "try_gpu",
           "RESNET_VARIANTS", "resnet_multiply_adds", "resnet_parameters", "resnet_table", "fast_mode",
           "batch_norm_settings", "export_weights", "import_weights"]

from .common import modes, presets, resident, schedule
from .common.checks import gpu_index, instance_of, training_args
from .common.data import load_data_fashion_mnist as _load
from .common.frameworks import require
from .common.layout import nchw_shape_for
from .common.metrics import accuracy
from .common.public import (Accumulator, Animator, RESNET_VARIANTS, Timer,  # noqa: F401
                            classroom_preset, plot_training_losses, resnet_multiply_adds, resnet_parameters,
                            resnet_table)
from .common.training import fit
from .parallel.launch import train_parallel_function

torch = require("torch", "PyTorch")
from torch import nn  # noqa: E402

FRAMEWORK = "torch"
nchw_shape = nchw_shape_for(FRAMEWORK)
_FAST = {"on": False}
# The same step on NCHW tensors or on channels-last ones (NHWC in memory, NCHW in shape): which
# oneDNN's convolutions run faster depends on the CPU, so train_ch6 measures both (common/modes.py).
MODES = (modes.Mode("contiguous", "NCHW 内存布局"), modes.Mode("channels_last", "channels-last 内存布局"))
train_mode = modes.train_mode_function(FRAMEWORK, MODES)
train_parallel = train_parallel_function(FRAMEWORK)  # d2l_compat/parallel: several workers


def fast_mode(on=True):
    """Opt in to channels-last memory and bfloat16 autocast for train_ch6 (off: the documents' recipe)."""
    if not isinstance(on, bool):
        raise TypeError(f"fast_mode takes True or False, got {on!r}")
    _FAST["on"] = on


def _resident_data(device):
    """train_ch6's data kept on `device`: uint8 uploaded once, batches gathered and scaled there."""
    def take(images, labels, index):
        return images[index].unsqueeze(1).float().mul_(1 / 255), labels[index].long()
    return resident.DeviceHooks(upload=lambda a: torch.from_numpy(a).to(device), take=take,
                                free_bytes=lambda: torch.cuda.mem_get_info(device)[0])


def _to_batch(X, y):
    return torch.from_numpy(X), torch.from_numpy(y).long()


def load_data_fashion_mnist(batch_size, resize=None):
    """Return (train_iter, test_iter) over Fashion-MNIST, batches NCHW, read from local files."""
    return _load(batch_size, resize, FRAMEWORK, _to_batch)


def try_gpu(i=0):
    """Return gpu(i) if exists, otherwise return cpu()."""
    count = torch.cuda.device_count()
    i = gpu_index(i, count)
    return torch.device(f'cuda:{i}') if count > i else torch.device('cpu')


def _check_net(net):
    instance_of(net, nn.Module, "net must be a torch.nn.Module")


def _as_device(device):
    if isinstance(device, torch.device):
        return device
    try:
        return torch.device(device)
    except (RuntimeError, TypeError):
        raise TypeError(f"device must be a torch.device such as d2l.try_gpu(), got {device!r}") from None


def evaluate_accuracy_gpu(net, data_iter, device=None):
    """Compute the accuracy for a model on a dataset using a GPU."""
    _check_net(net)
    net.eval()
    if device is None:
        device = next(iter(net.parameters())).device

    def count_correct(X, y):
        X, y = X.to(device, non_blocking=True), y.to(device, non_blocking=True)
        return (net(X).argmax(dim=1) == y).sum()

    with torch.no_grad(), torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=_FAST["on"]):
        return accuracy(data_iter, count_correct)


def _make_trainer(net, lr, device, plan=None, wrap=None):
    """Initialise `net` on `device`; return (step, evaluate, device name) for the shared loop.

    The step follows `plan` (common/schedule.py; default: plain SGD at `lr`). `wrap(net)`, if given, is the
    module the step runs instead (a data-parallel engine's wrapper, d2l_compat/parallel), in one memory layout
    (NCHW; channels-last in fast mode).
    """
    _check_net(net)
    device = _as_device(device)
    plan = plan or schedule.constant(lr)

    def init_weights(m):
        if type(m) in (nn.Linear, nn.Conv2d):
            nn.init.xavier_uniform_(m.weight)
    net.apply(init_weights)
    fast = _FAST["on"]
    layouts = {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last}
    memory_format = [torch.channels_last if fast else torch.contiguous_format]
    net.to(device, memory_format=memory_format[0])
    model = wrap(net) if wrap is not None else net
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # the shapes repeat: let cuDNN pick its fastest kernels
    optimizer = torch.optim.SGD(net.parameters(), lr=plan.rate(0), momentum=plan.momentum)
    loss = nn.CrossEntropyLoss()

    def set_lr(rate):
        for group in optimizer.param_groups:
            group["lr"] = rate
    next_rate = plan.follow(set_lr)

    def switch(mode):
        memory_format[0] = layouts[mode]
        net.to(memory_format=memory_format[0])
        for state in optimizer.state.values():  # the momentum buffers follow their parameters' layout
            for key, value in state.items():
                if torch.is_tensor(value) and value.dim() == 4:
                    state[key] = value.contiguous(memory_format=memory_format[0])

    def run(mode, X, y):
        next_rate()
        net.train()
        X = X.to(device, non_blocking=True, memory_format=memory_format[0])
        y = y.to(device, non_blocking=True)
        optimizer.zero_grad()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=fast):
            y_hat = model(X)
            l = loss(y_hat, y)
        l.backward()
        optimizer.step()
        with torch.no_grad():
            return l.detach() * X.shape[0], (y_hat.argmax(dim=1) == y).sum(), X.shape[0]

    chosen = MODES[1:] if fast else MODES[:1] if wrap is not None else MODES  # fast mode: channels-last
    step = modes.ModalStep(FRAMEWORK, chosen, run, switch)
    return step, lambda it: evaluate_accuracy_gpu(net, it, device), str(device)


def train(net, train_iter, test_iter, num_epochs, lr, device):
    """train_ch6's work; returns a TrainingSummary instead of None."""
    num_epochs, lr = training_args(num_epochs, lr)
    device = _as_device(device)
    plan = presets.training_plan(lr, train_iter, num_epochs)
    trainer = _make_trainer(net, lr, device, plan)
    train_iter, test_iter = resident.place((train_iter, test_iter), _resident_data(device), device.type == "cuda")
    return fit(*trainer, train_iter, test_iter, num_epochs, plan=plan)


def train_ch6(net, train_iter, test_iter, num_epochs, lr, device):
    """Train a model with a GPU (defined in Chapter 6)."""
    train(net, train_iter, test_iter, num_epochs, lr, device)


# The shared weight file (d2l_compat.common.weights): same weights in every framework.
import copy  # noqa: E402

from .common import batch_norm as _batch_norm, weights as _weights  # noqa: E402

_TENSORS = {"conv": lambda m: (m.weight, m.bias),
            "bn": lambda m: (m.weight, m.bias, m.running_mean, m.running_var),
            "dense": lambda m: (m.weight, m.bias)}


def _weight_slots(net):
    _check_net(net)
    return _weights.slots(_weights.nested_parts(net), _TENSORS)


def _read(tensor):
    return tensor.detach().cpu().numpy()


def _write(tensor, value):
    with torch.no_grad():
        tensor.copy_(torch.from_numpy(value))


def _run(layer, x, training):
    """Run a layer, or the net, on an NCHW NumPy batch in training or inference mode; NumPy out."""
    with torch.no_grad():
        return _read(layer.train(training)(torch.from_numpy(x)))


export_weights, import_weights = _weights.module_functions(FRAMEWORK, _weight_slots, _read, _write)
batch_norm_settings = _batch_norm.settings_function(lambda: nn.BatchNorm2d(_batch_norm.CHANNELS), _run,
                                                    _TENSORS["bn"], _read, _write)


def _sgd_step(net, X, y, lr):
    """One training-mode step as train_ch6 takes it: (logits, mean loss, canonical gradients)."""
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    optimizer.zero_grad()
    y_hat = net.train()(torch.from_numpy(X))
    loss = nn.CrossEntropyLoss()(y_hat, torch.from_numpy(y).long())
    loss.backward()
    grads = _weights.canonical(_weight_slots(net), lambda t: None if t.grad is None else _read(t.grad), FRAMEWORK)
    optimizer.step()
    return _read(y_hat), float(loss.detach()), grads


def _float64_net(build):
    """A float64 twin of the notebook's net `build()` makes, for comparisons that rounding cannot decide."""
    return build().double()


class _KinkMargins(torch.overrides.TorchFunctionMode):
    """Records how far the inputs of every ReLU and max-pool lie from the points where their gradient jumps."""

    def __init__(self):
        super().__init__()
        self.relu, self.max_pool, self.ties = [], [], 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        x = args[0] if args else None
        if func in (torch.nn.functional.relu, torch.relu, torch.relu_):
            self.relu.append(float(x.abs().min() / x.abs().max()))
        elif func in (torch.nn.functional.max_pool2d, torch.max_pool2d) and not kwargs.get("ceil_mode"):
            self._pool(x, *args[1:4])
        return func(*args, **kwargs)

    def _pool(self, x, kernel, stride=None, padding=0):
        stride = stride or kernel
        padded = nn.functional.pad(x.detach(), [padding] * 4, value=float("-inf"))
        windows = padded.unfold(2, kernel, stride).unfold(3, kernel, stride).flatten(-2)
        top = windows.topk(2, dim=-1).values
        gaps = top[..., 0] - top[..., 1]
        self.ties += int((gaps == 0).sum())  # equal maxima of equal inputs: either choice gives the same gradient
        self.max_pool.append(float(gaps[gaps > 0].min() / x.abs().max()))


def _kink_margins(net, x):
    """In float64, training mode: the smallest |ReLU input| and the smallest gap between a max-pool window's two
    largest inputs, each relative to that layer's largest |input|, and the number of exactly equal maxima."""
    twin = copy.deepcopy(net).double().train()
    margins = _KinkMargins()
    with torch.no_grad(), margins:
        twin(torch.from_numpy(x.astype("float64")))
    return {"relu": min(margins.relu), "max_pool": min(margins.max_pool), "exact_ties": margins.ties}
