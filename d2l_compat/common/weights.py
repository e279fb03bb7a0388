"""One weight file for the five notebooks' ResNet-18, whichever framework wrote it.

The file is a NumPy `.npz` with one float32 array per tensor, named without reference to any
framework (`stem.conv.weight`, `stage2.block1.bn1.running_var`, `dense.bias`, ...) and laid out
as PyTorch lays it out: convolution kernels OIHW, the dense kernel (out, in). `layout.py` turns
kernels into each framework's own layout. Batch normalisation divides by sqrt(var + 1e-5)
(`BN_EPSILON`), the epsilon of four of the five frameworks.

A framework module maps its net onto these names (`slots`) and gets its public export_weights and
import_weights from `module_functions`. A convolution the net builds without a bias (MindSpore's)
is exported as zeros, and an imported bias for it is folded into what follows (`fold_biases`).
"""
import os
import tempfile
from pathlib import Path

import numpy as np

from .layout import weight_from_framework, weight_to_framework

IN_CHANNELS, NUM_CLASSES, STEM = 1, 10, (64, 7)  # stem: 64 channels, a 7x7 kernel
STAGES = ((64, 64), (64, 128), (128, 256), (256, 512))  # (in, out) channels of each stage
BLOCKS_PER_STAGE = 2
BN_EPSILON = 1e-5
FIELDS = {"conv": ("weight", "bias"), "bn": ("gamma", "beta", "running_mean", "running_var"),
          "dense": ("weight", "bias")}
LAYOUT_NOTE = {"conv": "OIHW: out channels, in channels, height, width", "dense": "(out, in)"}


class WeightFileError(ValueError):
    """A weight file, or a net, does not hold the notebooks' ResNet-18."""


def layers():
    """The layers with weights, in order: (canonical name, kind, kernel shape or channels).

    The first block of stages 2-4 changes the number of channels and halves the resolution, so
    its shortcut is a 1x1 convolution, `conv3`.
    """
    channels, kernel = STEM
    found = [("stem.conv", "conv", (channels, IN_CHANNELS, kernel, kernel)), ("stem.bn", "bn", channels)]
    for s, (c_in, c_out) in enumerate(STAGES, 1):
        for b in range(1, BLOCKS_PER_STAGE + 1):
            name, first_in = f"stage{s}.block{b}", c_in if b == 1 else c_out
            found += [(f"{name}.conv1", "conv", (c_out, first_in, 3, 3)), (f"{name}.bn1", "bn", c_out),
                      (f"{name}.conv2", "conv", (c_out, c_out, 3, 3)), (f"{name}.bn2", "bn", c_out)]
            if first_in != c_out:
                found.append((f"{name}.conv3", "conv", (c_out, c_in, 1, 1)))
    found.append(("dense", "dense", (NUM_CLASSES, STAGES[-1][1])))
    return found


def tensor_shapes():
    """Every tensor of the file: canonical name -> (kind, field, shape), in the network's order."""
    shapes = {}
    for name, kind, size in layers():
        for field in FIELDS[kind]:
            if kind == "bn":
                shape = (size,)
            else:
                shape = size if field == "weight" else size[:1]
            shapes[f"{name}.{field}"] = (kind, field, shape)
    return shapes


SHAPES = tensor_shapes()


def fold_target(conv):
    """(tensor, sign) that absorbs convolution `conv`'s bias b: the tensor becomes tensor + sign * b.

    A bias before batch normalisation moves the mean the norm subtracts, so BN(x + b) with running
    mean mu equals BN(x) with mu - b. The 1x1 shortcut's output is added after `bn2`, so its bias
    joins bn2's beta.
    """
    block, part = conv.rsplit(".", 1)
    if part == "conv3":
        return f"{block}.bn2.beta", 1.0
    bn = {"conv": "bn", "conv1": "bn1", "conv2": "bn2"}[part]
    return f"{block}.{bn}.running_mean", -1.0


def fold_biases(weights, convs):
    """A copy of `weights` with the biases of convolutions `convs` set to zero and folded (fold_target)."""
    folded = dict(weights)
    for conv in convs:
        target, sign = fold_target(conv)
        folded[target] = weights[target] + np.float32(sign) * weights[f"{conv}.bias"]
        folded[f"{conv}.bias"] = np.zeros_like(weights[f"{conv}.bias"])
    return folded


def random_weights(seed=0):
    """A complete set of random float32 weights from `seed`: He-scaled kernels, non-zero biases and statistics."""
    rng = np.random.default_rng(seed)
    draw = {"gamma": lambda shape: rng.uniform(0.5, 1.5, shape),
            "running_var": lambda shape: rng.uniform(0.5, 1.5, shape),
            "beta": lambda shape: rng.normal(0, 0.1, shape),
            "running_mean": lambda shape: rng.normal(0, 0.1, shape),
            "bias": lambda shape: rng.normal(0, 0.1, shape),
            "weight": lambda shape: rng.normal(0, np.sqrt(2 / np.prod(shape[1:])), shape)}
    return {name: draw[field](shape).astype(np.float32) for name, (_, field, shape) in SHAPES.items()}


KINK_FREE_BETA = 20.0


def kink_free_weights(seed=0):
    """random_weights(seed) moved away from every ReLU's kink: each batch norm's beta is KINK_FREE_BETA, far
    beyond gamma times any normalised value here, and the 1x1 shortcuts' kernels and biases are made positive,
    so every ReLU input is positive. Max-pool windows keep their near ties; same_function measures the margins.

    The shortcut kernels are scaled to average their inputs and the dense kernel to the residual stream's
    size (eight blocks adding about KINK_FREE_BETA each), so that the logits stay of order 1.
    """
    found = random_weights(seed)
    for name, (kind, field, shape) in SHAPES.items():
        if field == "beta":
            found[name] = np.full_like(found[name], KINK_FREE_BETA)
        elif ".conv3." in name:
            found[name] = np.abs(found[name]) / np.float32(np.sqrt(shape[1]) if field == "weight" else 1)
    found["dense.weight"] = found["dense.weight"] / np.float32(len(STAGES) * BLOCKS_PER_STAGE * KINK_FREE_BETA)
    return found


def check_weights(weights, source):
    """Return `weights` as float32 arrays if they are exactly this ResNet-18's; else a clear WeightFileError."""
    missing = [f"{name} {shape}" for name, (_, _, shape) in SHAPES.items() if name not in weights]
    if missing:
        raise WeightFileError(f"{source} lacks {len(missing)} tensor(s) of the notebooks' ResNet-18: "
                              f"{', '.join(missing[:6])}{' ...' if len(missing) > 6 else ''}")
    extra = sorted(set(weights) - set(SHAPES))
    if extra:
        raise WeightFileError(f"{source} holds tensor(s) the notebooks' ResNet-18 does not have: "
                              f"{', '.join(extra[:6])}{' ...' if len(extra) > 6 else ''}")
    checked = {}
    for name, (kind, field, shape) in SHAPES.items():
        value = np.asarray(weights[name])
        if value.shape != shape:
            note = f" ({LAYOUT_NOTE[kind]})" if field == "weight" else ""
            raise WeightFileError(f"{source}: {name} has shape {value.shape}, expected {shape}{note}")
        if value.dtype.kind not in "fiu" or not np.all(np.isfinite(value)):
            raise WeightFileError(f"{source}: {name} must hold finite numbers, got dtype {value.dtype}"
                                  f"{'' if value.dtype.kind not in 'fiu' else ' with NaN or infinity'}")
        checked[name] = value.astype(np.float32)
    return checked


def save_weights(weights, path):
    """Check `weights` and write them to `path` (.npz), atomically: a failed write leaves nothing behind."""
    weights = check_weights(weights, "the weights to save")
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            np.savez(out, **weights)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def load_weights(path):
    """Read and check a weight file; return canonical name -> float32 array (canonical layout)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no weight file at {path}: write one with d2l.export_weights(net, path) "
                                f"or save_weights(random_weights(), path)")
    try:
        with np.load(path, allow_pickle=False) as stored:
            weights = {name: stored[name] for name in stored.files}
    except (OSError, ValueError) as err:
        raise WeightFileError(f"{path} is not an .npz weight file ({err})") from None
    return check_weights(weights, path)


def named_layers(parts):
    """Canonical layer name -> the net's layer, checked against `layers()`.

    `parts()` returns the net's (stem conv, stem batch norm, residual blocks in order, dense layer);
    every notebook's Residual names its layers conv1, bn1, conv2, bn2 and conv3 (None without a
    1x1 shortcut).
    """
    try:
        stem_conv, stem_bn, blocks, dense = parts()
        found = {"stem.conv": stem_conv, "stem.bn": stem_bn}
        for i, block in enumerate(blocks):
            stage, index = divmod(i, BLOCKS_PER_STAGE)
            for part in ("conv1", "bn1", "conv2", "bn2", "conv3"):
                layer = getattr(block, part)
                if layer is not None:
                    found[f"stage{stage + 1}.block{index + 1}.{part}"] = layer
        found["dense"] = dense
    except (AttributeError, IndexError, KeyError, TypeError) as err:
        raise WeightFileError(f"net is not the notebooks' ResNet-18 ({type(err).__name__}: {err})") from None
    expected = [name for name, _, _ in layers()]
    if list(found) != expected:
        differ = [name for name in found if name not in expected] + [name for name in expected if name not in found]
        raise WeightFileError(f"net is not the notebooks' ResNet-18: it has {len(blocks)} residual blocks "
                              f"(expected {len(STAGES) * BLOCKS_PER_STAGE}); its layers differ at "
                              f"{', '.join(differ[:4])}")
    return found


def nested_parts(net):
    """`parts` (see named_layers) of a net built as Sequential(b1, b2, b3, b4, b5, pool, flatten, dense),
    b1 starting with the stem's conv and batch norm: the PyTorch, Paddle and MindSpore notebooks'."""
    return lambda: (net[0][0], net[0][1], [block for stage in net[1:5] for block in stage], net[-1])


def slots(parts, tensors):
    """Canonical tensor name -> a framework's handle on it (None where the net has no such tensor).

    `parts` as for named_layers; `tensors[kind](layer)` lists a layer's handles in FIELDS order.
    """
    found, handles = named_layers(parts), {}
    for name, kind, _ in layers():
        for field, handle in zip(FIELDS[kind], tensors[kind](found[name])):
            handles[f"{name}.{field}"] = handle
    return handles


def _kernel_kind(name):
    kind, field, _ = SHAPES[name]
    return kind if field == "weight" else None


def canonical(handles, read, framework):
    """Canonical name -> NumPy array in the canonical layout, for each handle `read` gives a value for.

    `read(handle)` may return None (a tensor without a gradient, say): that name is left out.
    """
    found = {}
    for name, handle in handles.items():
        value = None if handle is None else read(handle)
        if value is not None:
            found[name] = weight_from_framework(_kernel_kind(name), np.array(value), framework)  # a copy, not a view
    return found


def state(handles, read, framework):
    """Every tensor of the file read from a net, zeros for the biases it does not have."""
    found = canonical(handles, read, framework)
    return {name: found.get(name, np.zeros(shape, np.float32)) for name, (_, _, shape) in SHAPES.items()}


def export(handles, read, framework, path, bn_epsilons=None):
    """Write the tensors behind `handles` (from `slots`), read as NumPy by `read`, to a weight file.

    Absent tensors (biases a framework's net does not have) are written as zeros. `bn_epsilons`
    (batch norm name -> its epsilon) converts a running variance kept for another epsilon into
    this file's: var + eps - BN_EPSILON gives the same inference-mode output.
    """
    weights = state(handles, read, framework)
    for name, (_, field, _) in SHAPES.items():
        if field == "running_var" and bn_epsilons:
            weights[name] = weights[name] + (bn_epsilons[name.rsplit(".", 1)[0]] - BN_EPSILON)
    save_weights(weights, path)


def install(handles, read, write, framework, path):
    """Install a weight file into the tensors behind `handles`: all checked first, then all written.

    Biases the net does not have are folded into the following layer (fold_biases), which is exact.
    """
    weights = load_weights(path)
    absent = [name for name, handle in handles.items() if handle is None]
    if any(SHAPES[name][:2] != ("conv", "bias") for name in absent):
        raise WeightFileError(f"net lacks tensors other than convolution biases: {', '.join(absent)}")
    weights = fold_biases(weights, [name.rsplit(".", 1)[0] for name in absent])
    values = {}
    for name, handle in handles.items():
        if handle is None:
            continue
        value = np.ascontiguousarray(weight_to_framework(_kernel_kind(name), weights[name], framework))
        have = tuple(np.shape(read(handle)))
        if have != value.shape:
            raise WeightFileError(f"net's {name} has shape {have} where the file's is {value.shape} in "
                                  f"{framework}'s layout: is net the notebooks' ResNet-18?")
        values[name] = value
    for name, value in values.items():
        write(handles[name], value)


def batch_norm_counts(size, batch):
    """Batch norm name -> how many values it averages per channel for `batch` images of size x size.

    Every notebook's stride-2 layers give ceil(side / 2), whatever their padding rule.
    """
    side = -(-size // 2)  # the stem convolution
    counts = {"stem.bn": batch * side * side}
    side = -(-side // 2)  # the max-pool
    for s, (c_in, c_out) in enumerate(STAGES, 1):
        side = side if c_in == c_out else -(-side // 2)
        for b in range(1, BLOCKS_PER_STAGE + 1):
            counts[f"stage{s}.block{b}.bn1"] = counts[f"stage{s}.block{b}.bn2"] = batch * side * side
    return counts


def module_functions(framework, weight_slots, read, write):
    """A framework module's (export_weights, import_weights), from its `weight_slots(net)` (see `slots`),
    `read(handle)` -> NumPy and `write(handle, array)`."""
    def export_weights(net, path):
        """Save the notebook's ResNet-18 `net` to `path`, a weight file every framework's import_weights reads.

        Convolution biases the net does not have (MindSpore's) are written as zeros.
        """
        export(weight_slots(net), read, framework, path)

    def import_weights(net, path):
        """Load a weight file written by any framework's export_weights into `net`, in place; returns `net`.

        Convolution biases the net does not have (MindSpore's) are folded exactly into the batch norm
        after them: its running mean minus the bias; for the 1x1 shortcut, bn2's beta plus the bias.
        """
        install(weight_slots(net), read, write, framework, path)
        return net
    return export_weights, import_weights
