# Five ResNets: `make setup` once, then `make test`. `make help` lists every target.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
LOCK := requirements/lock.txt
ALL_FRAMEWORKS := torch tensorflow mxnet paddle mindspore
# `make setup FRAMEWORKS="torch paddle"` installs only those; by default what $(VENV) holds, else all five.
FRAMEWORKS ?= $(or $(shell cat $(VENV)/.frameworks 2>/dev/null),$(ALL_FRAMEWORKS))
CHOSEN = $(sort $(if $(filter all,$(FRAMEWORKS)),$(ALL_FRAMEWORKS),$(FRAMEWORKS)))
KERNEL := five-resnets

.PHONY: help setup data browser test lab doctor img bench bench-classroom bench-exercises bench-gpu same-function lock clean clean-data \
	setup-gpu check-cpu-plan test-other-python test-numpy2 notebooks book book-serve bench-degradation \
	bench-classroom-budget bench-tf-gradient parallel bench-parallel

help:
	@echo "make setup   create .venv (Python 3.11, all five frameworks, pinned), register the Jupyter kernel, get the data"
	@echo "             FRAMEWORKS=\"torch paddle\": only those (remembered; FRAMEWORKS=all for the five again)"
	@echo "make setup-gpu FRAMEWORK=torch   .venv-gpu-torch with the framework's NVIDIA GPU build, or says why it cannot work here"
	@echo "make check-cpu-plan   pip's dry-run report of what make setup installs: fails if it plans any CUDA package"
	@echo "make test-other-python   CI's second environment: TensorFlow alone on Python 3.13 (OTHER_PYTHON, OTHER_FRAMEWORK)"
	@echo "make test-numpy2   CI's third environment: PyTorch with NumPy 2 and no Jupyter, matplotlib or IPython"
	@echo "make test    unit tests and the six notebooks (smoke preset; in JupyterLab by the browser test, else nbval), then each framework's tests"
	@echo "make lab     open JupyterLab on notebooks/ with the project kernel"
	@echo "make parallel FRAMEWORK=paddle WORKERS=2   train the notebook's ResNet-18 on WORKERS workers with the framework's own data-parallel engine (IMAGES=6000; DEVICE=gpu for GPUs)"
	@echo "make doctor  check this computer before the lesson: frameworks, GPU, data, kernel, disk, memory"
	@echo "make browser install Chromium and CJK fonts with apt-get, for the browser test of the notebooks"
	@echo "make data    install or download Fashion-MNIST and verify it"
	@echo "make img     redraw the figures in img/ and embed them into the notebooks"
	@echo "make notebooks   write notebooks 1-5 from their one source, lesson/resnet.md (CONTRIBUTING.md)"
	@echo "make book   the HTML book into build/book/: the chapter with five synced framework tabs, the variants, offline"
	@echo "make book-serve   build the book, then serve it on http://127.0.0.1:8000 (BOOK_PORT=...)"
	@echo "make bench   training and data-pipeline throughput, d2l_compat's loop against a bare loop, into bench/results/ (its report says how long it took)"
	@echo "make bench-classroom   the classroom preset, three runs per framework, with curves, into bench/results/ (one: BENCH_ARGS=\"--framework paddle\")"
	@echo "make bench-classroom-budget   the notebooks' classroom switch, a time budget (MINUTES=4), three runs per framework on this machine, into bench/results/ and the README"
	@echo "make bench-parallel   the classroom recipe on 2 workers of each framework's engine against one process (3 runs; the committed results' image count), into bench/results/ and the README"
	@echo "make bench-tf-gradient   TensorFlow's slow convolution gradient on CPUs without VNNI: oneDNN off and on, four formulations, the training step"
	@echo "make bench-exercises   train the exercises' comparison nets (exercises 4 and 6) in the classroom preset (one run per net, all five frameworks), then quote them in the notebooks"
	@echo "make bench-degradation   exercise 6, continued: plain and residual nets of 18 and 34 layers, their training-loss curves, all five frameworks, then quote and embed them"
	@echo "make same-function   the five notebooks' ResNet-18 on the same weights and images, compared with PyTorch, into bench/results/"
	@echo "make bench-gpu   on an NVIDIA GPU: the documents' full recipe per framework, then PyTorch's fast mode, into GPU_OUT (exits 3 without a GPU)"
	@echo "make clean   remove .venv and caches (keeps the data; 'make clean-data' removes downloaded data)"

setup: $(VENV)/.installed data browser

# tools/setup_env.py: the chosen frameworks' CPU builds plus the test and notebook tools, pinned by
# $(LOCK) used as constraints; frameworks left out of FRAMEWORKS are removed.
$(VENV)/.installed: $(LOCK) pyproject.toml tools/setup_env.py $(VENV)/.frameworks
	@command -v $(PYTHON) >/dev/null || { echo "make setup needs Python 3.11 as '$(PYTHON)'. Install it, or run: make setup PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) tools/setup_env.py install --venv $(VENV) $(CHOSEN)
	@# d2l 1.0.3 pins NumPy 1.23 and friends; it is only read (never imported) by the signature test.
	$(PY) -m pip install --quiet --no-deps d2l==1.0.3
	$(PY) -m pip check | grep -v '^d2l ' || true
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python ($(KERNEL))"
	touch $@

# Rewritten only when the chosen set changes, so that a new FRAMEWORKS re-runs the install above.
$(VENV)/.frameworks: FORCE
	$(if $(filter-out $(ALL_FRAMEWORKS),$(CHOSEN)),$(error FRAMEWORKS: unknown "$(filter-out $(ALL_FRAMEWORKS),$(CHOSEN))"; choose from $(ALL_FRAMEWORKS), or all))
	@mkdir -p $(VENV); [ "$$(cat $@ 2>/dev/null)" = "$(CHOSEN)" ] || echo "$(CHOSEN)" > $@
FORCE:

data: $(VENV)/.installed
	@if $(PY) -m d2l_compat.common.fashion_mnist check 2>/dev/null; then exit 0; fi; \
	if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get install -y -q dataset-fashion-mnist || { apt-get update -q && apt-get install -y -q dataset-fashion-mnist; } || true; \
	elif command -v apt-get >/dev/null && command -v sudo >/dev/null; then \
		sudo apt-get install -y -q dataset-fashion-mnist || true; \
	fi; \
	$(PY) -m d2l_compat.common.fashion_mnist check 2>/dev/null || $(PY) -m d2l_compat.common.fashion_mnist download
	@$(PY) -m d2l_compat.common.fashion_mnist check

# Chromium and CJK fonts for tests/test_browser.py (skipped without them, except in CI as root).
browser:
	@if command -v chromium >/dev/null && fc-list :lang=zh 2>/dev/null | grep -q .; then exit 0; fi; \
	if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get install -y -q chromium fonts-noto-cjk || { apt-get update -q && apt-get install -y -q chromium fonts-noto-cjk; } || true; \
	elif command -v apt-get >/dev/null && command -v sudo >/dev/null; then \
		sudo apt-get install -y -q chromium fonts-noto-cjk || true; \
	fi; \
	command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
		echo "make browser: Chromium could not be installed (needs apt-get as root or with sudo); the browser test will be skipped"

# Each run's time is printed at the end, and pytest lists its slowest tests (--durations): make test must
# stay within 15 minutes on the slowest 2-core CPU of our kind.
test: $(VENV)/.installed
	@status=0; times=""; \
	echo "== framework-neutral tests and the notebooks (each in its own kernel: JupyterLab's in the browser test, else nbval's)"; \
	start=$$SECONDS; $(PY) -m pytest -rs --durations=8 tests notebooks || status=1; \
	times="$$times\n  neutral + nbval + browser: $$((SECONDS - start)) s"; \
	for fw in $(ALL_FRAMEWORKS); do \
		if ! $(PY) -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$$fw') is None)"; then \
			echo "== $$fw: not installed in $(VENV), its tests skipped (make setup FRAMEWORKS=\"$(CHOSEN) $$fw\" adds it)"; continue; \
		fi; \
		echo "== $$fw tests (a process of its own: the frameworks do not share one safely)"; \
		start=$$SECONDS; $(PY) -m pytest --durations=5 tests --framework=$$fw || status=1; \
		times="$$times\n  $$fw: $$((SECONDS - start)) s"; \
	done; \
	echo -e "make test: time of each run (on $$($(PY) -c 'from d2l_compat.common import cpu; print(cpu.summary(cpu.describe()))'))$$times"; \
	if [ $$status = 0 ]; then echo "make test: every run passed"; else echo "make test: FAILED (see the runs above)"; fi; \
	exit $$status

lab: $(VENV)/.installed
	$(PY) tools/lab.py

# No prerequisite: a check must not start an install.
doctor:
	@test -x $(PY) || { echo "make doctor: there is no $(VENV). Fix: make setup"; exit 1; }
	$(PY) -m d2l_compat.doctor

img: $(VENV)/.installed
	$(PY) img/draw_figures.py
	$(PY) tools/embed_figures.py

BENCH_ARGS ?=
bench: $(VENV)/.installed
	$(PY) bench/run.py $(BENCH_ARGS)

# The notebooks quote the results and show the curves: refresh both from what was just measured.
bench-classroom: $(VENV)/.installed
	$(PY) bench/classroom.py $(BENCH_ARGS)
	$(PY) tools/quote_results.py
	$(PY) tools/embed_figures.py

MINUTES ?= 4
bench-classroom-budget: $(VENV)/.installed
	$(PY) bench/classroom.py --minutes $(MINUTES) $(BENCH_ARGS)
	$(PY) tools/quote_results.py

bench-tf-gradient: $(VENV)/.installed
	$(PY) bench/tf_gradient.py

WORKERS ?= 2
IMAGES ?= 6000
DEVICE ?= cpu
parallel: $(VENV)/.installed
	@test -n "$(FRAMEWORK)" || { echo "make parallel needs FRAMEWORK=<one of: $(ALL_FRAMEWORKS)>"; exit 1; }
	$(PY) -m d2l_compat.parallel --framework $(FRAMEWORK) --workers $(WORKERS) --images $(IMAGES) --device $(DEVICE)

bench-parallel: $(VENV)/.installed
	$(PY) bench/parallel.py $(BENCH_ARGS)
	$(PY) tools/quote_results.py

bench-exercises: $(VENV)/.installed
	$(PY) bench/exercises.py
	$(PY) tools/quote_results.py

bench-degradation: $(VENV)/.installed
	$(PY) bench/degradation.py
	$(PY) tools/quote_results.py
	$(PY) tools/embed_figures.py

same-function: $(VENV)/.installed
	$(PY) -m d2l_compat.same_function --save bench/results

# No .venv needed: a bare GPU machine's python3 with a CUDA PyTorch and NumPy is enough (README, Using a GPU).
GPU_OUT ?= bench/results/gpu
bench-gpu:
	$(if $(wildcard $(PY)),$(PY),python3) bench/gpu.py --out $(GPU_OUT)

# CPU machines get CPU builds: pip's own resolution report of what `make setup` installs, checked.
check-cpu-plan:
	$(PYTHON) tools/setup_env.py plan --venv $(VENV) $(CHOSEN)

# One environment per framework with its NVIDIA GPU build; refuses before downloading anything when
# this machine's GPU or driver cannot run that build (README, "Using a GPU").
setup-gpu:
	@test -n "$(FRAMEWORK)" || { echo "make setup-gpu needs FRAMEWORK=<one of: $(ALL_FRAMEWORKS)>"; exit 1; }
	$(PYTHON) tools/gpu_setup.py $(FRAMEWORK) --venv .venv-gpu-$(FRAMEWORK)

# CI's small second environments (README, "One framework, your own Python"): one framework on
# another Python, pinned like .venv; and PyTorch with NumPy 2 and only pytest, as on a bare GPU machine.
OTHER_PYTHON ?= 3.13
OTHER_FRAMEWORK ?= tensorflow
OTHER_VENV = .venv-py$(OTHER_PYTHON)-$(OTHER_FRAMEWORK)
test-other-python:
	@python=$$($(PYTHON) tools/setup_env.py find-python $(OTHER_PYTHON)) && \
	$(MAKE) --no-print-directory $(OTHER_VENV)/.installed VENV=$(OTHER_VENV) PYTHON=$$python FRAMEWORKS=$(OTHER_FRAMEWORK)
	$(OTHER_VENV)/bin/python -m pytest -rs tests --framework=$(OTHER_FRAMEWORK)
	$(OTHER_VENV)/bin/python -m pytest -rs notebooks

NUMPY2_VENV = .venv-numpy2
$(NUMPY2_VENV)/.installed: $(LOCK) requirements/numpy2.txt pyproject.toml tools/setup_env.py
	$(PYTHON) tools/setup_env.py install --bare --numpy2 --venv $(NUMPY2_VENV) torch
	touch $@

test-numpy2: $(NUMPY2_VENV)/.installed
	$(NUMPY2_VENV)/bin/python -c "import importlib.util as u, numpy; extra = [m for m in ('matplotlib', 'IPython') if u.find_spec(m)]; \
		assert numpy.__version__[0] == '2' and not extra, (numpy.__version__, extra); print('NumPy', numpy.__version__, 'without matplotlib and IPython')"
	$(NUMPY2_VENV)/bin/python -m pytest -o addopts="-p no:cacheprovider" -rs tests --framework=torch
	$(NUMPY2_VENV)/bin/python bench/gpu.py --cpu-smoke --out $(NUMPY2_VENV)/gpu-smoke

lock: $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements/base.in
	@{ sed -n '1,4p' $(LOCK); $(PY) -m pip freeze --exclude-editable | grep -vi '^d2l==' | sed 's/^torch==\(.*\)+cpu$$/torch==\1/'; } > $(LOCK).new && mv $(LOCK).new $(LOCK)

clean:
	rm -rf $(VENV) .venv-py3.* .venv-numpy2 .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

clean-data:
	$(PY) -m d2l_compat.common.fashion_mnist remove-download

# notebooks/1-5-*.ipynb from their one source, lesson/resnet.md (CONTRIBUTING.md): unchanged cells keep their outputs.
notebooks: $(VENV)/.installed
	$(PY) tools/lesson.py write

# The HTML book (tools/book.py): build/book/, from lesson/resnet.md and the notebooks' stored outputs, offline.
book: $(VENV)/.installed
	$(PY) tools/book.py build

BOOK_PORT ?= 8000
book-serve: book
	$(PY) tools/book.py serve --port $(BOOK_PORT)
