"""The notebooks as a learner sees them: JupyterLab, started as `make lab` starts it, in Chromium.

One JupyterLab server for the whole module, started through tools/lab.py (the command `make lab`
runs: same root, same default kernel) with the smoke preset in its environment, on a free
loopback port with a random token. For every notebook in notebooks/, a headless Chromium opens it,
checks that every figure loaded and every formula was typeset, runs it through the menu
(Run > Run All Cells), waits for the kernel to go idle, then checks what the page shows: no error
and no stderr box (JupyterLab paints both pink), the shape cells' stored text, the training cell's
plot and the book's two result lines. A full-page screenshot of each notebook goes to
build/browser/ (not committed), pass or fail.

Only the server's user settings differ from a learner's: autosave is off (the test must never
write a notebook), every cell is kept rendered (no windowing, so the checks and the screenshot see
all of them) and Jupyter's news pop-up is off. Without Chromium or Playwright the module is
skipped with one line saying how to enable it; in CI running as root it fails instead.
"""
import contextlib
import importlib.util
import json
import os
import pathlib
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
RESULTS = ROOT / "build" / "browser"
RUN_TIMEOUT_S = 900  # per notebook (smoke preset): generous, so that a busy machine does not fail it
STEP_TIMEOUT_MS = 180_000  # one page load, click or screenshot, on a busy machine
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# As root Chromium needs --no-sandbox (Playwright passes it); the rest keep it off the network,
# which a classroom or CI machine may not reach. Playwright gives it a fresh --user-data-dir.
CHROMIUM_FLAGS = ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}
STDERR_MIME = "application/vnd.jupyter.stderr"  # stderr streams and tracebacks alike
IMAGE_LINK = re.compile(r"!\[[^\]]*\]\([^)]+\)|<img\s", re.IGNORECASE)
RAW_FORMULA = re.compile(r"\$[^$\n]+\$")
RESULT_LINES = (re.compile(r"loss [\d.]+, train acc [\d.]+, test acc [\d.]+"),
                re.compile(r"[\d.,]+ examples/sec on \S+"))

spec = importlib.util.spec_from_file_location("lab", ROOT / "tools" / "lab.py")
lab = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lab)


def chromium_path():
    """Chromium's executable: $CHROMIUM, or the first of CHROMIUM_NAMES on the PATH."""
    if os.environ.get("CHROMIUM"):
        return shutil.which(os.environ["CHROMIUM"])
    return next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)


def _missing():
    if importlib.util.find_spec("playwright") is None:
        return "Playwright for Python is not installed"
    if chromium_path() is None:
        return "Chromium is not installed"
    return None


MISSING = _missing()
HOW = ("to enable it: `make browser` (apt-get install chromium fonts-noto-cjk, as root or with sudo; "
       "or set CHROMIUM=/path/to/chromium) and `make setup` for Playwright")
MUST_RUN = bool(os.environ.get("CI")) and os.geteuid() == 0  # CI runs as root: it can install Chromium
if MISSING and not MUST_RUN:
    pytest.skip(f"browser test skipped: {MISSING}; {HOW}", allow_module_level=True)


class Server:
    """A running Jupyter server: its address, token and REST API."""

    def __init__(self, process, port, token, log):
        self.process, self.port, self.token, self.log = process, port, token, log

    def url(self, path):
        sep = "&" if "?" in path else "?"
        return f"http://127.0.0.1:{self.port}/{path}{sep}token={self.token}"

    def api(self, path, method="GET"):
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/api/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def log_tail(self, lines=30):
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def shut_down_kernels(self, path=None):
        """Shut down the kernel of the notebook at `path` (relative to the root), or all of them."""
        for session in self.api("sessions"):
            if path is None or session["path"] == path:
                self.api(f"sessions/{session['id']}", method="DELETE")
        if path is None:
            for kernel in self.api("kernels"):
                self.api(f"kernels/{kernel['id']}", method="DELETE")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(command_for, tmp, cwd=None):
    """Start `command_for(extra_options)` as a Jupyter server in a private settings folder."""
    for name, values in SETTINGS.items():
        path = tmp / "settings" / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = dict(os.environ, D2L_COMPAT_SMOKE="1", JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"), JUPYTER_RUNTIME_DIR=str(tmp / "runtime"))
    env.pop("TQDM_DISABLE", None)  # set by conftest.py for nbval; a learner's kernel has no such thing
    port, token, log = free_port(), secrets.token_hex(16), tmp / "jupyter.log"
    command = command_for("--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
                          "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}")
    with open(log, "wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=cwd,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    server = Server(process, port, token, log)
    deadline = time.monotonic() + 120
    while True:
        if process.poll() is not None:
            pytest.fail(f"JupyterLab exited with status {process.returncode}:\n{server.log_tail()}")
        try:
            server.api("status")
            return server
        except OSError:
            if time.monotonic() > deadline:
                stop_server(server)
                pytest.fail(f"JupyterLab did not answer within 120 s:\n{server.log_tail()}")
            time.sleep(0.5)


def stop_server(server):
    try:
        server.shut_down_kernels()
    except OSError:
        pass
    server.process.send_signal(signal.SIGTERM)
    try:
        server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, signal.SIGKILL)  # its own session: the server and its kernels
        server.process.wait()


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    """JupyterLab as `make lab` starts it (tools/lab.py), with the smoke preset."""
    server = start_server(lab.lab_command, tmp_path_factory.mktemp("jupyterlab"))
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def browser(request):
    if MISSING:  # only under CI as root: there a browser test that cannot run is a failure
        pytest.fail(f"CI runs as root, so it must run the browser test, but {MISSING}; {HOW}", pytrace=False)
    from playwright.sync_api import sync_playwright
    RESULTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter:
        reporter.write_line(f"browser test: screenshots of the notebooks in {RESULTS.relative_to(ROOT)}/")


# What the page shows, cell by cell (every cell is rendered: windowing is off).
CELLS_JS = """() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
  return Array.from(panel ? panel.querySelectorAll('.jp-Cell') : []).map(cell => ({
    prompt: (cell.querySelector('.jp-InputArea-prompt') || {innerText: ''}).innerText.trim(),
    images: Array.from(cell.querySelectorAll('.jp-RenderedMarkdown img')).map(img => ({
      src: (img.getAttribute('src') || '').slice(0, 60), complete: img.complete, width: img.naturalWidth})),
    markdown: Array.from(cell.querySelectorAll('.jp-RenderedMarkdown')).map(m => m.innerText).join('\\n'),
    // MathJax shows a TeX error as mjx-merror, an undefined command as red text
    mathErrors: cell.querySelectorAll('mjx-merror, mjx-mtext[style*="color: red"]').length,
    outputs: Array.from(cell.querySelectorAll('.jp-OutputArea-output')).map(out => ({
      mime: out.getAttribute('data-mime-type') || '', text: out.innerText,
      images: Array.from(out.querySelectorAll('img')).map(img => img.complete && img.naturalWidth > 0)})),
  }));
}"""
DIALOG_JS = "() => Array.from(document.querySelectorAll('.jp-Dialog')).map(d => d.innerText.trim())"
# Height of the notebook's content, so that a screenshot of a page that tall shows every cell.
HEIGHT_JS = """() => {
  const outer = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer');
  const cells = outer ? outer.querySelectorAll('.jp-Cell') : [];
  if (!cells.length) return 0;
  const top = outer.getBoundingClientRect().top;
  outer.scrollTop = 0;
  return Math.ceil(top + cells[cells.length - 1].getBoundingClientRect().bottom - top + 80);
}"""


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.5)
    return value


def kernel_idle(server, path):
    sessions = [s for s in server.api("sessions") if s["path"] == path]
    return bool(sessions) and sessions[0]["kernel"]["execution_state"] == "idle"


def figures_and_formulas(cells, stored):
    """Problems with what the markdown cells show: broken images, formulas left as raw TeX."""
    problems = []
    for index, (cell, source) in enumerate(zip(cells, stored)):
        if source["cell_type"] != "markdown":
            continue
        text = "".join(source["source"])
        expected = len(IMAGE_LINK.findall(text))
        if len(cell["images"]) != expected:
            problems.append(f"cell {index}: {len(cell['images'])} images rendered, the markdown has {expected}")
        for image in cell["images"]:
            if not image["width"]:
                problems.append(f"cell {index}: image {image['src']!r} did not load (natural width 0)")
        for raw in RAW_FORMULA.findall(cell["markdown"]):
            problems.append(f"cell {index}: formula not typeset: {raw}")
        if cell["mathErrors"]:
            problems.append(f"cell {index}: {cell['mathErrors']} formula error(s): TeX MathJax cannot typeset")
    return problems


def stored_text(source):
    """The text a cell's stored outputs show (streams and plain-text results)."""
    parts = []
    for out in source.get("outputs", []):
        if out["output_type"] == "stream":
            parts.append("".join(out["text"]))
        elif "data" in out and "text/plain" in out["data"]:
            parts.append("".join(out["data"]["text/plain"]))
    return parts


def normalized(parts):
    text = book.ANSI.sub("", "\n".join(parts))
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def skipped(cell):
    """A cell nbval skips (`nbval-skip`: the exercises' comparisons, which train several nets)."""
    return "nbval-skip" in cell.get("metadata", {}).get("tags", [])


def skip_as_nbval_does(page, stored):
    """Turn the cells nbval skips into raw cells on the page (never saved: autosave is off), as nbval
    leaves them out: a learner runs them; the smoke preset would only time their compilation."""
    for index, cell in enumerate(stored):
        if cell["cell_type"] == "code" and skipped(cell):
            target = page.locator(".jp-Notebook .jp-Cell").nth(index)
            target.locator(".jp-InputPrompt").click()
            page.keyboard.press("Escape")
            page.keyboard.press("r")
            wait_for(lambda: "jp-RawCell" in (target.get_attribute("class") or ""), 30, f"cell {index} to become raw")


def outputs_after_run(cells, stored):
    """Problems with what the code cells show after Run All Cells."""
    problems = []
    code = [(i, c, s) for i, (c, s) in enumerate(zip(cells, stored)) if s["cell_type"] == "code" and not skipped(s)]
    prompts = [c["prompt"] for _, c, _ in code]
    if prompts != [f"[{n}]:" for n in range(1, len(code) + 1)]:
        problems.append(f"the code cells did not all run, in order, in a fresh kernel: prompts {prompts}")
    training = next((i for i, _, s in code if "train_ch6(" in "".join(s["source"])), None)
    for index, cell, source in code:
        text = "".join(source["source"])
        for out in cell["outputs"]:
            if out["mime"] == STDERR_MIME:
                problems.append(f"cell {index} shows an error or stderr output (pink box):\n{out['text'][:1500]}")
        if "# NBVAL_CHECK_OUTPUT" in text:
            want = normalized(stored_text(source))
            got = normalized([o["text"] for o in cell["outputs"]])
            if not want:
                problems.append(f"shape cell {index} has no stored output (run tools/refresh_notebooks.py)")
            elif got != want:
                problems.append(f"shape cell {index} shows\n{got}\ninstead of its stored output\n{want}")
        if index == training:  # the book's training cell: the first that calls train_ch6
            shown = "\n".join(o["text"] for o in cell["outputs"])
            if not any(ok for o in cell["outputs"] for ok in o["images"]):
                problems.append(f"training cell {index} shows no plot")
            for line in RESULT_LINES:
                if not line.search(shown):
                    problems.append(f"training cell {index} lacks the line /{line.pattern}/; it shows:\n{shown[-800:]}")
    return problems


def screenshot(page, path):
    """A screenshot of the whole notebook: the window is made as tall as its content."""
    height = min(max(page.evaluate(HEIGHT_JS), 800), 16000)
    page.set_viewport_size({"width": 1280, "height": height})
    page.wait_for_timeout(500)
    page.screenshot(path=str(path), full_page=True)


def check_notebook(server, browser, notebook, root, shot, run=True, app="lab"):
    """Open `notebook` (below `root`) in JupyterLab (or `app="notebook"`: Notebook 7), screenshot it to
    `shot`, return what is wrong."""
    stored = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    path = notebook.relative_to(root).as_posix()
    from playwright.sync_api import Error as PlaywrightError
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(STEP_TIMEOUT_MS)
    page = context.new_page()
    problems = []
    try:
        # A workspace of its own (reset): no tab or kernel of an earlier notebook comes back.
        page.goto(server.url(f"lab/workspaces/{notebook.stem}/tree/{path}?reset" if app == "lab"
                             else f"notebooks/{path}"))
        wait_for(lambda: len(page.evaluate(CELLS_JS)) == len(stored), STEP_TIMEOUT_MS / 1000, f"{path} to render")
        wait_for(lambda: kernel_idle(server, path), STEP_TIMEOUT_MS / 1000, "the kernel to start")
        # Images decode and MathJax typesets asynchronously: give both a moment before judging.
        settled = lambda: all(i["complete"] for c in page.evaluate(CELLS_JS) for i in c["images"]) \
            and not figures_and_formulas(page.evaluate(CELLS_JS), stored)
        try:
            wait_for(settled, 60, "figures and formulas")
        except AssertionError:
            pass
        problems += figures_and_formulas(page.evaluate(CELLS_JS), stored)
        if run:
            skip_as_nbval_does(page, stored)
            prompts = lambda: [c["prompt"] for c in page.evaluate(CELLS_JS)]
            before = prompts()
            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
            page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
            queued = lambda: "[*]:" in prompts()
            wait_for(lambda: queued() or prompts() != before, STEP_TIMEOUT_MS / 1000, "Run All Cells to start")
            done = lambda: page.evaluate(DIALOG_JS) or (not queued() and kernel_idle(server, path))
            wait_for(done, RUN_TIMEOUT_S, f"{path} to finish running")
            time.sleep(1)  # the last display updates arrive just after the kernel reports idle
            problems += [f"JupyterLab shows a dialog: {d[:300]}" for d in page.evaluate(DIALOG_JS)]
            problems += outputs_after_run(page.evaluate(CELLS_JS), stored)
    except (AssertionError, PlaywrightError) as err:
        problems.append(f"{err.__class__.__name__}: {err}")
    finally:
        try:
            screenshot(page, shot)
        except PlaywrightError as err:  # say so, without hiding what went wrong before
            problems.append(f"no screenshot: {err.__class__.__name__}: {str(err)[:300]}")
        try:
            server.shut_down_kernels(path)
        finally:
            context.close()
    return problems


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_in_jupyterlab(browser, jupyterlab, notebook):
    before = notebook.read_bytes()
    shot = RESULTS / f"{notebook.stem}.png"
    problems = check_notebook(jupyterlab, browser, notebook, root=lab.NOTEBOOK_DIR, shot=shot)
    if notebook.read_bytes() != before:
        problems.append("the file changed on disk while it was open in JupyterLab (autosave is off: "
                        "was it edited meanwhile? If not, the test saved it)")
    assert not problems, f"{notebook.name} in JupyterLab (see {shot.relative_to(ROOT)}):\n" + "\n".join(problems)


def by_hand(*extra, app="jupyterlab"):
    """`jupyter lab` (or `jupyter notebook`) typed in the repository's root: no options but what the test needs."""
    return [sys.executable, "-m", app, *(["--allow-root"] if os.geteuid() == 0 else []), *extra]


def test_a_notebook_runs_in_jupyter_notebook_7(browser, tmp_path):
    # `jupyter notebook`, the command d2l's install chapter teaches: figures, formulas, Run All.
    if importlib.util.find_spec("notebook") is None:
        pytest.fail("Notebook 7 is not installed: `make setup` installs it (`jupyter notebook`)", pytrace=False)
    notebook = NOTEBOOKS[0]
    server = start_server(lambda *extra: by_hand(*extra, app="notebook"), tmp_path, cwd=ROOT)
    try:
        shot = RESULTS / f"{notebook.stem}-notebook7.png"
        problems = check_notebook(server, browser, notebook, root=ROOT, shot=shot, app="notebook")
    finally:
        stop_server(server)
    assert not problems, f"{notebook.name} in Notebook 7 (see {shot.relative_to(ROOT)}):\n" + "\n".join(problems)


def test_figures_show_when_jupyterlab_is_started_from_the_repository_root(browser, tmp_path):
    # One notebook is enough: attachments do not depend on the root (test_notebook_figures.py
    # checks that every notebook's figures are attachments); this checks the server does not either.
    notebook = NOTEBOOKS[0]
    server = start_server(by_hand, tmp_path, cwd=ROOT)
    try:
        shot = RESULTS / f"{notebook.stem}-from-repository-root.png"
        problems = check_notebook(server, browser, notebook, root=ROOT, shot=shot, run=False)
    finally:
        stop_server(server)
    assert not problems, f"{notebook.name} (see {shot.relative_to(ROOT)}):\n" + "\n".join(problems)


# ---- The HTML book (tools/book.py, `make book`): built once for these tests, served on loopback ----

book_spec = importlib.util.spec_from_file_location("book", ROOT / "tools" / "book.py")
book = importlib.util.module_from_spec(book_spec)
book_spec.loader.exec_module(book)
BOOK_SHOTS = ROOT / "build" / "browser"
FRAMEWORK_NAMES = {"torch": "PyTorch", "mxnet": "MXNet", "tensorflow": "TensorFlow", "paddle": "PaddlePaddle",
                   "mindspore": "MindSpore"}
# Per framework tab set: which tab is chosen, and which tab contents a reader sees.
TABS_JS = """() => Array.from(document.querySelectorAll('.framework-tabs')).map(set => {
  const labels = Array.from(set.querySelectorAll(':scope > label.sd-tab-label'));
  const checked = labels.find(l => l.previousElementSibling.checked);
  return {
    chosen: checked ? checked.dataset.syncId : null,
    shown: labels.filter(l => getComputedStyle(l.nextElementSibling).display !== 'none').map(l => ({
      id: l.dataset.syncId, box: l.nextElementSibling.getBoundingClientRect().toJSON()})),
    text: Object.fromEntries(labels.map(l => [l.dataset.syncId, l.nextElementSibling.textContent])),
  };
})"""
# The page's prose as a reader sees it (code and outputs left out: a `$` there is no formula).
PROSE_JS = """() => { const body = document.querySelector('div.body').cloneNode(true);
  body.querySelectorAll('pre, code, script, mjx-container').forEach(e => e.remove()); return body.textContent; }"""
# The framework-specific names in shared prose that a reader sees (one span per framework, one shown).
NAMES_JS = """() => Array.from(document.querySelectorAll('.fw-text'))
  .filter(e => getComputedStyle(e).display !== 'none').map(e => e.dataset.fw)"""
IMAGES_JS = """() => Array.from(document.images).map(i => ({src: i.getAttribute('src'), width: i.naturalWidth,
  complete: i.complete}))"""


class BookSite:
    """The built book, served by a thread of this process on 127.0.0.1."""

    def __init__(self, folder):
        import functools
        import http.server
        import threading

        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass
        self.folder = folder
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def book_site(tmp_path_factory):
    """The book as `make book` builds it (into a folder of the test's own), served on loopback."""
    out = tmp_path_factory.mktemp("book") / "site"
    counts = book.build(out)
    site = BookSite(out)
    site.counts = counts
    yield site
    site.close()


def open_page(browser, site, path, context=None):
    """(context, page, problems): `path` of the site loaded; problems lists every failed or foreign request."""
    context = context or browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(STEP_TIMEOUT_MS)
    page = context.new_page()
    problems = []
    page.on("request", lambda r: r.url.startswith((site.origin, "data:", "blob:"))
            or problems.append(f"request to another host: {r.url}"))
    page.on("requestfailed", lambda r: problems.append(f"failed request: {r.url} ({r.failure})"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
    page.goto(site.origin + path)
    page.wait_for_load_state("networkidle")
    return context, page, problems


@contextlib.contextmanager
def book_page(browser, site, path, label=None):
    """(context, page, problems) of `path` loaded; on leaving, the context closes and no request may have failed."""
    context, page, problems = open_page(browser, site, path)
    try:
        yield context, page, problems
    finally:
        context.close()
    assert not problems, (f"book page {label}:\n" if label else "") + "\n".join(problems)


def typeset(page):
    """True once MathJax has typeset the page (it removes no \\( \\) delimiters before it is done)."""
    return page.evaluate("() => !!(window.MathJax && MathJax.startup && MathJax.startup.promise)") and \
        page.evaluate("() => MathJax.startup.promise.then(() => true)")


@pytest.mark.parametrize("path", ["index.html", "resnet.html", "variants.html"])
def test_book_page_loads_offline_with_images_and_formulas(browser, book_site, path):
    with book_page(browser, book_site, path, label=path) as (context, page, problems):
        if path != "index.html":
            wait_for(lambda: typeset(page), 60, "MathJax")
            assert page.locator("mjx-container").count() > 0, "no formula was typeset"
            errors = page.locator("mjx-merror").count()
            assert not errors, f"{errors} formula(s) MathJax could not typeset"
        raw = RAW_FORMULA.findall(page.evaluate(PROSE_JS).replace("\\(", "").replace("\\)", ""))
        problems += [f"formula left as raw TeX: {r}" for r in raw]
        wait_for(lambda: all(i["complete"] for i in page.evaluate(IMAGES_JS)), 60, "images")
        problems += [f"image did not load: {i['src']}" for i in page.evaluate(IMAGES_JS) if not i["width"]]
        page.screenshot(path=str(BOOK_SHOTS / f"book-{pathlib.Path(path).stem}.png"), full_page=path != "resnet.html")


def test_book_tabs_switch_together_and_the_choice_is_kept(browser, book_site):
    with book_page(browser, book_site, "resnet.html") as (context, page, problems):
        sets = page.evaluate(TABS_JS)
        assert len(sets) >= 10, f"only {len(sets)} framework tab sets on the chapter's page"
        assert {s["chosen"] for s in sets} == {"torch"}, "a first visit should show PyTorch everywhere"
        for framework, name in FRAMEWORK_NAMES.items():
            # click the tab in the last tab set: every other set must follow
            page.locator(f".framework-tabs > label[data-sync-id={framework}]").last.click()
            chosen = [s["chosen"] for s in page.evaluate(TABS_JS)]
            assert set(chosen) == {framework}, f"after clicking {name}: tab sets show {chosen}"
            shown = {tuple(t["id"] for t in s["shown"]) for s in page.evaluate(TABS_JS)}
            assert shown == {(framework,)}, f"after clicking {name}, the tab sets show {shown}"
            names = page.evaluate(NAMES_JS)
            assert names and set(names) == {framework}, f"after clicking {name}, the shared prose names {names}"
        page.locator(".framework-tabs > label[data-sync-id=paddle]").first.click()
        page.reload()
        page.wait_for_load_state("networkidle")
        assert {s["chosen"] for s in page.evaluate(TABS_JS)} == {"paddle"}, "a reload lost the chosen tab"
        other = context.new_page()  # another visit, in a new tab
        other.goto(book_site.origin + "resnet.html")
        other.wait_for_load_state("networkidle")
        assert {s["chosen"] for s in other.evaluate(TABS_JS)} == {"paddle"}, "a new visit lost the chosen tab"


def outputs_text(cells):
    """Each code cell's stored text outputs, whitespace collapsed (what the book must show)."""
    found = []
    for cell in cells:
        if cell["cell_type"] == "code":
            found += [" ".join(book.ANSI.sub("", t).split()) for t in stored_text(cell) if t.strip()]
    return found


def test_book_shows_every_stored_output_under_its_framework_tab(browser, book_site):
    with book_page(browser, book_site, "resnet.html") as (context, page, problems):
        sets = page.evaluate(TABS_JS)
        for framework, name in FRAMEWORK_NAMES.items():
            shown = " ".join(s["text"][framework] for s in sets)
            shown = " ".join(shown.split())
            cells = json.loads((ROOT / "notebooks" / book.lesson_source.NOTEBOOKS[framework]).read_text())["cells"]
            wanted = outputs_text(cells)
            assert wanted, f"{name}'s notebook stores no text output"
            problems += [f"{name}: stored output not under its tab: {text[:120]!r}" for text in wanted
                         if text not in shown]
        _, variants, more = open_page(browser, book_site, "variants.html", context)
        problems += more
        shown = " ".join(variants.evaluate("() => document.querySelector('div.body').textContent").split())
        cells = json.loads((ROOT / "notebooks" / book.VARIANTS).read_text())["cells"]
        problems += [f"variants: stored output missing: {t[:120]!r}" for t in outputs_text(cells) if t not in shown]


def test_book_shows_shared_prose_once(browser, book_site):
    with book_page(browser, book_site, "resnet.html") as (context, page, problems):
        headings = page.evaluate("() => Array.from(document.querySelectorAll('div.body h2, div.body h3'))"
                                 ".map(h => h.textContent.replace(/¶$/, '').trim())")
        lesson = book.lesson_source.load()
        shared = [line.lstrip("#").strip().replace("`", "") for cell in lesson.cells if cell.cell_type == "markdown"
                  and book.lesson_source.TAG not in cell.metadata for line in cell.source.splitlines()
                  if re.match(r"#{2,3} ", line) and "{{" not in line and "$" not in line]
        assert shared, "the source has no shared headings"
        for heading in shared:
            assert headings.count(heading) == 1, f"shared heading {heading!r} appears {headings.count(heading)} times"


def test_book_search_finds_chinese_words(browser, book_site):
    with book_page(browser, book_site, "search.html?q=残差") as (context, page, problems):
        results = page.locator("#search-results a[href*='resnet.html']")
        results.first.wait_for(timeout=60_000)
        assert results.count() >= 1


def test_book_side_by_side_shows_two_frameworks(browser, book_site):
    with book_page(browser, book_site, "resnet.html") as (context, page, problems):
        page.select_option("#side-left", "paddle")
        page.select_option("#side-right", "mindspore")
        page.check("#side-by-side")
        for s in page.evaluate(TABS_JS):
            ids = [t["id"] for t in s["shown"]]
            assert ids == ["paddle", "mindspore"], f"side by side shows {ids}"
            left, right = (t["box"] for t in s["shown"])
            assert left["x"] + left["width"] <= right["x"] + 1 and abs(left["y"] - right["y"]) < 2, \
                f"the two columns are not side by side: {left} {right}"
        page.locator(".framework-tabs").nth(3).scroll_into_view_if_needed()
        page.screenshot(path=str(BOOK_SHOTS / "book-side-by-side.png"))
        page.reload()
        page.wait_for_load_state("networkidle")
        assert len(page.evaluate(TABS_JS)[0]["shown"]) == 2, "a reload lost the side-by-side view"
        page.uncheck("#side-by-side")
        assert all(len(s["shown"]) == 1 for s in page.evaluate(TABS_JS)), "the view did not go back to tabs"


def test_book_download_links_serve_the_notebooks(browser, book_site):
    with book_page(browser, book_site, "resnet.html") as (context, page, problems):
        hrefs = page.evaluate("() => Array.from(document.querySelectorAll('a.download')).map(a => a.href)")
    names = sorted(pathlib.PurePosixPath(h).name for h in hrefs)
    assert names == sorted(book.lesson_source.NOTEBOOKS.values()), f"download links: {names}"
    for href in hrefs:
        with urllib.request.urlopen(href, timeout=30) as response:
            assert response.read() == (ROOT / "notebooks" / pathlib.PurePosixPath(href).name).read_bytes(), href
