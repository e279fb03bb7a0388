"""The plainest training loop each framework allows, for comparison with d2l_compat's loop.

`BARE[framework](net, lr, device)` sets up once (optimizer, compiled step) and returns
`run(batches)`, which trains on ready tensors and reads a result back once, at the end. Each
compiles its step the way d2l_compat does (TensorFlow: tf.function; MindSpore: GRAPH_MODE), so
the ratio of the two loops measures d2l_compat's loop and data pipeline, not the compiler.
"""


def torch_loop(net, lr, device):
    import torch
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    loss = torch.nn.CrossEntropyLoss()

    def run(batches):
        net.train()
        for X, y in batches:
            optimizer.zero_grad()
            l = loss(net(X), y)
            l.backward()
            optimizer.step()
        return float(l)
    return run


def mxnet_loop(net, lr, device):
    from mxnet import autograd, gluon
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": lr})

    def run(batches):
        for X, y in batches:
            with autograd.record():
                l = loss(net(X), y)
            l.backward()
            trainer.step(X.shape[0])
        return float(l.sum())
    return run


def tensorflow_loop(net, lr, device):
    import tensorflow as tf
    optimizer = tf.keras.optimizers.SGD(learning_rate=lr)
    loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer.build(net.trainable_variables)

    @tf.function(reduce_retracing=True)
    def step(X, y):
        with tf.GradientTape() as tape:
            l = loss(y, net(X, training=True))
        optimizer.apply_gradients(zip(tape.gradient(l, net.trainable_variables), net.trainable_variables))
        return l

    def run(batches):
        for X, y in batches:
            l = step(X, y)
        return float(l)
    return run


def paddle_loop(net, lr, device):
    import paddle
    optimizer = paddle.optimizer.SGD(learning_rate=lr, parameters=net.parameters())
    loss = paddle.nn.CrossEntropyLoss()

    def run(batches):
        net.train()
        for X, y in batches:
            l = loss(net(X), y)
            optimizer.clear_grad()
            l.backward()
            optimizer.step()
        return float(l)
    return run


def mindspore_loop(net, lr, device):
    import mindspore as ms
    from mindspore import nn
    optimizer = nn.SGD(net.trainable_params(), learning_rate=lr)
    step = nn.TrainOneStepCell(nn.WithLossCell(net, nn.CrossEntropyLoss()), optimizer)
    step.set_train(True)

    def run(batches):  # compiled, as d2l_compat's step is: GRAPH_MODE, then back to PyNative
        ms.set_context(mode=ms.GRAPH_MODE)
        try:
            for X, y in batches:
                l = step(X, y)
            return float(l)
        finally:
            ms.set_context(mode=ms.PYNATIVE_MODE)
    return run


BARE = {"torch": torch_loop, "mxnet": mxnet_loop, "tensorflow": tensorflow_loop,
        "paddle": paddle_loop, "mindspore": mindspore_loop}
