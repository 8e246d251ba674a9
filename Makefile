# Two commands do everything on a fresh machine (see README.md):
#   make demo   set up .venv, install, run the main job
#   make test   set up .venv, install with test extras, run ruff, all tests and notebooks
#   make docs   build the documentation site into build/site (warnings fail it)
VENV       := .venv
PYTHON     := $(VENV)/bin/python
# torch is installed on its own first: on a CPU-only machine pass a CPU build here,
# e.g. TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu".
# An already installed torch (e.g. a CUDA build) is kept as it is.
TORCH_SPEC ?= torch==2.13.0
CHECKPOINT ?=

.PHONY: demo test docs install clean

$(PYTHON):
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip

$(VENV)/.torch: | $(PYTHON)
	$(PYTHON) -c "import torch" 2>/dev/null || $(PYTHON) -m pip install --quiet $(TORCH_SPEC)
	touch $@

$(VENV)/.installed: pyproject.toml $(VENV)/.torch
	$(PYTHON) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.torch
	$(PYTHON) -m pip install --quiet -e ".[test]"
	$(PYTHON) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

$(VENV)/.installed-docs: pyproject.toml $(VENV)/.torch
	$(PYTHON) -m pip install --quiet -e ".[docs]"
	touch $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(PYTHON) scripts/demo.py $(CHECKPOINT)

test: $(VENV)/.installed-test
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m pytest

# The tutorials as pages: executed copies where .ci/binder left them in docs/notebooks, else as stored.
docs: $(VENV)/.installed-docs
	mkdir -p docs/notebooks
	for notebook in notebooks/0*.ipynb; do \
		[ -e docs/notebooks/$$(basename $$notebook) ] || cp $$notebook docs/notebooks/; \
	done
	NO_MKDOCS_2_WARNING=1 $(PYTHON) -m mkdocs build --strict --quiet

clean:
	rm -rf $(VENV) demo_output build docs/notebooks .cache
