"""A live training-curve plot for Jupyter that does nothing where nothing can be shown."""
import io

from . import fonts


def _in_notebook_kernel():
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


class Animator:
    """For plotting data in animation (the book's signature); redraws one figure in place."""

    def __init__(self, xlabel=None, ylabel=None, legend=None, xlim=None, ylim=None,
                 xscale='linear', yscale='linear', fmts=('-', 'm--', 'g-.', 'r:'),
                 nrows=1, ncols=1, figsize=(3.5, 2.5)):
        self.live = _in_notebook_kernel()
        self.X, self.Y, self.fmts, self.title = None, None, fmts, ""
        self.legend, self.handle = legend or [], None
        if not self.live:
            return
        from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state
        self.fig = Figure(figsize=figsize)
        axes = self.fig.subplots(nrows, ncols, squeeze=False).ravel()
        self.axes = axes

        def config_axes():
            ax = self.axes[0]
            ax.set_xlabel(xlabel), ax.set_ylabel(ylabel)
            ax.set_xscale(xscale), ax.set_yscale(yscale)
            if xlim:
                ax.set_xlim(xlim)
            if ylim:
                ax.set_ylim(ylim)
            if self.legend:
                ax.legend(self.legend)
            ax.set_title(self.title, fontsize=8)
            ax.grid()
        self.config_axes = config_axes

    def set_title(self, text):
        """Show a progress line above the plot (ignored where nothing is shown)."""
        self.title = text

    def add(self, x, y):
        """Add one point per curve and redraw."""
        if not hasattr(y, "__len__"):
            y = [y]
        n = len(y)
        if not hasattr(x, "__len__"):
            x = [x] * n
        if not self.X:
            self.X = [[] for _ in range(n)]
        if not self.Y:
            self.Y = [[] for _ in range(n)]
        for i, (a, b) in enumerate(zip(x, y)):
            if a is not None and b is not None:
                self.X[i].append(a)
                self.Y[i].append(b)
        if self.live:
            self._draw()

    def _draw(self):
        import matplotlib
        from IPython.display import Image, display
        ax = self.axes[0]
        with matplotlib.rc_context(fonts.rc()):  # Chinese labels: the texts take their font when made
            ax.cla()
            for x, y, fmt in zip(self.X, self.Y, self.fmts):
                ax.plot(x, y, fmt)
            self.config_axes()
            buffer = io.BytesIO()
            self.fig.savefig(buffer, format="png", bbox_inches="tight", dpi=100)
        image = Image(data=buffer.getvalue(), format="png")
        if self.handle is None:
            self.handle = display(image, display_id=True)
        else:
            self.handle.update(image)
