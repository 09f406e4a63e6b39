# The verbs a reader or an author types. Each target creates .venv and installs
# requirements.txt into it first, when that has not been done since requirements.txt changed.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CHAPTER ?=

.PHONY: book test budgets lab execute serve clean help
PORT ?= 8000
.DEFAULT_GOAL := help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

book: $(STAMP)  ## build the website clean into _build/html, warnings are errors
	rm -rf _build
	$(BIN)/jupyter-book build . -W --keep-going
	@echo "Open $(CURDIR)/_build/html/index.html"

test: $(STAMP)  ## run every test, then every chapter again under torch's portable CPU kernels
	$(BIN)/python -m pytest
	ATEN_CPU_CAPABILITY=default $(BIN)/python -m pytest chapters

budgets: $(STAMP)  ## on a quiet machine: chapter times (the status page), SCE speed, page weight and load
	$(BIN)/python -m lossbook.notebooks --measure
	$(BIN)/python -m pytest -m budget -n 0 -s -q tests/test_sce_speed.py tests/test_site.py

# JupyterLab refuses to start as root (most containers) unless told it may.
LAB_FLAGS ?=
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(STAMP)  ## open the chapters in JupyterLab (LAB_FLAGS="--no-browser --port 8888" passes options)
	$(BIN)/jupyter lab chapters $(ROOT_FLAG) $(LAB_FLAGS)

execute: $(STAMP)  ## re-execute CHAPTER=chapters/NN-name.ipynb (default: all) in place
	$(BIN)/python -m lossbook.notebooks $(CHAPTER)

serve:  ## serve the built site on http://127.0.0.1:$(PORT) (after make book)
	@test -f _build/html/index.html || { echo "No site yet: run make book first"; exit 1; }
	@echo "Serving on http://127.0.0.1:$(PORT)/ (Ctrl-C stops)"
	$(PYTHON) -m http.server $(PORT) --bind 127.0.0.1 --directory _build/html

clean:  ## remove the built site and caches (keeps .venv)
	rm -rf _build .pytest_cache .hypothesis
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
