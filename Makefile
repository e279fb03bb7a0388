# Five ResNets: `make setup` once, then `make test`. `make help` lists every target.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
LOCK := requirements/lock.txt
FRAMEWORKS := torch tensorflow mxnet paddle mindspore
KERNEL := five-resnets
# GPU users: `make setup TORCH_CUDA=cu128` swaps in PyTorch's CUDA 12.8 build (see README).
TORCH_CUDA ?=

.PHONY: help setup data browser test lab doctor img bench bench-classroom bench-gpu lock clean clean-data

help:
	@echo "make setup   create .venv (Python 3.11, all five frameworks, pinned), register the Jupyter kernel, get the data"
	@echo "make test    unit tests, then nbval over the five notebooks (smoke preset), then each framework's tests"
	@echo "make lab     open JupyterLab on notebooks/ with the project kernel"
	@echo "make doctor  check this computer before the lesson: frameworks, GPU, data, kernel, disk, memory"
	@echo "make browser install Chromium and CJK fonts with apt-get, for the browser test of the notebooks"
	@echo "make data    install or download Fashion-MNIST and verify it"
	@echo "make img     redraw the figures in img/ and embed them into the notebooks"
	@echo "make bench   measure training and data-pipeline throughput into bench/results/ (about 8 minutes on 2 cores)"
	@echo "make bench-classroom   time the classroom preset in every framework (about half an hour on 2 cores)"
	@echo "make bench-gpu   on an NVIDIA GPU: the documents' full recipe per framework, then PyTorch's fast mode, into GPU_OUT (exits 3 without a GPU)"
	@echo "make clean   remove .venv and caches (keeps the data; 'make clean-data' removes downloaded data)"

setup: $(VENV)/.installed data browser

$(VENV)/.installed: $(LOCK) pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "make setup needs Python 3.11 as '$(PYTHON)'. Install it, or run: make setup PYTHON=/path/to/python3.11"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { echo "make setup needs Python 3.11, but '$(PYTHON)' is Python $$($(PYTHON) -c 'import platform; print(platform.python_version())'). Run: make setup PYTHON=/path/to/python3.11"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r $(LOCK)
	@# d2l 1.0.3 pins NumPy 1.23 and friends; it is only read (never imported) by the signature test.
	$(PY) -m pip install --quiet --no-deps d2l==1.0.3
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@if [ -n "$(TORCH_CUDA)" ]; then $(PY) -m pip install --quiet --force-reinstall --no-deps torch==2.13.0 --index-url https://download.pytorch.org/whl/$(TORCH_CUDA); fi
	$(PY) -m pip check | grep -v '^d2l ' || true
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python ($(KERNEL))"
	touch $@

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

test: $(VENV)/.installed
	@status=0; \
	echo "== framework-neutral tests and nbval over notebooks/ (each notebook in its own kernel)"; \
	$(PY) -m pytest tests notebooks || status=1; \
	for fw in $(FRAMEWORKS); do \
		echo "== $$fw tests (a process of its own: the frameworks do not share one safely)"; \
		$(PY) -m pytest tests --framework=$$fw || status=1; \
	done; \
	if [ $$status = 0 ]; then echo "make test: every run passed"; else echo "make test: FAILED (see the runs above)"; fi; \
	exit $$status

lab: $(VENV)/.installed
	$(PY) tools/lab.py

doctor: $(VENV)/.installed
	$(PY) -m d2l_compat.doctor

img: $(VENV)/.installed
	$(PY) img/draw_figures.py
	$(PY) tools/embed_figures.py

bench: $(VENV)/.installed
	$(PY) bench/run.py

bench-classroom: $(VENV)/.installed
	$(PY) bench/classroom.py

# No .venv needed: a bare GPU machine's python3 with a CUDA PyTorch and NumPy is enough (README, Using a GPU).
GPU_OUT ?= bench/results/gpu
bench-gpu:
	$(if $(wildcard $(PY)),$(PY),python3) bench/gpu.py --out $(GPU_OUT)

lock: $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements/base.in
	@{ sed -n '1,3p' $(LOCK); $(PY) -m pip freeze --exclude-editable | grep -vi '^d2l==' | sed 's/^torch==\(.*\)+cpu$$/torch==\1/'; } > $(LOCK).new && mv $(LOCK).new $(LOCK)

clean:
	rm -rf $(VENV) .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

clean-data:
	$(PY) -m d2l_compat.common.fashion_mnist remove-download
