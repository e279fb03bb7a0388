"""Training-loss curves of several runs in one figure: exercise 6's plain and residual nets, 18 and 34 layers."""
import io

from . import fonts, training


def latest_runs(names):
    """{name: TrainingSummary} of this process's last len(names) trainings, in the order they ran."""
    names = list(names)
    runs = list(training.HISTORY)[-len(names):] if names else []
    if len(runs) < len(names):
        raise ValueError(f"plot_training_losses: {len(names)} names, but this kernel has run {len(runs)} "
                         "training(s): run the training cell above first (after a kernel restart, again)")
    return dict(zip(names, runs))


def figure(curves, title=""):
    """A matplotlib Figure of {name: [(epochs, loss), ...]}: one line per run, plain nets dashed."""
    import matplotlib
    from matplotlib.figure import Figure
    with matplotlib.rc_context(fonts.rc()):
        fig = Figure(figsize=(4.6, 3.2))
        ax = fig.subplots()
        for k, (name, curve) in enumerate(curves.items()):
            if curve:
                ax.plot(*zip(*curve), "--" if "普通" in name or "plain" in name.lower() else "-",
                        color=f"C{k}", label=name)
        ax.set_xlabel(fonts.chinese("迭代周期", "epoch"))
        ax.set_ylabel(fonts.chinese("训练损失", "training loss"))
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        fig.tight_layout()
    return fig


def plot_training_losses(names, title=""):
    """Plot the training-loss curves of the last len(names) trainings of this kernel, labelled `names`."""
    runs = latest_runs(names)
    fig = figure({name: run.loss_curve for name, run in runs.items()}, title)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    try:
        from IPython.display import Image, display
    except ImportError:  # no Jupyter: nothing to show
        return
    display(Image(data=buffer.getvalue(), format="png"))
