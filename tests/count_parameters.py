"""Print the trainable-parameter count of one notebook's ResNet-18 as JSON.

Run as `python tests/count_parameters.py FRAMEWORK`, one process per framework (they cannot share one).
"""
import contextlib
import io
import json
import math
import sys

from notebook_code import build_namespace


def trainable_parameters(framework, namespace):
    net = namespace["net"]
    if framework == "torch":
        return sum(p.numel() for p in net.parameters() if p.requires_grad)
    if framework == "mxnet":
        return sum(p.data().size for p in net.collect_params().values() if p.grad_req != "null")
    if framework == "tensorflow":
        import tensorflow as tf
        model = net()
        model(tf.zeros((1, 96, 96, 1)))
        return sum(math.prod(v.shape) for v in model.trainable_variables)
    if framework == "paddle":
        return sum(math.prod(p.shape) for p in net.parameters() if not p.stop_gradient)
    if framework == "mindspore":
        return sum(p.size for p in net.trainable_params())
    raise ValueError(framework)


if __name__ == "__main__":
    framework = sys.argv[1]
    with contextlib.redirect_stdout(io.StringIO()):
        namespace = build_namespace(framework)
        count = trainable_parameters(framework, namespace)
    print(json.dumps({"framework": framework, "parameters": int(count)}))
