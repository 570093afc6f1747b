# The two commands a newcomer needs:
#   make html   build the site into _build/html (executes the chapters that changed)
#   make test   run every test: package, book structure, strict build, built site
# Both create .venv and install requirements.txt plus the package (editable) on first use,
# and reinstall only when requirements.txt or code/pyproject.toml change.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NODE   := node_modules/.installed

.DEFAULT_GOAL := html
.PHONY: install html notebooks test bench clean help serve chapter lint hooks

help:  ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

$(STAMP): requirements.txt code/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -e ./code
	@touch $@

$(NODE): package-lock.json
	npm ci --no-audit --no-fund --silent
	@touch $@

install: $(STAMP) $(NODE)  ## create .venv and node_modules (what html and test do on first use)

html: $(STAMP)  ## build the site into _build/html
	$(BIN)/python tools/build.py

notebooks: $(STAMP)  ## regenerate the Colab copies notebooks/*.ipynb from the chapters (commit them)
	$(BIN)/python tools/notebooks.py

test: $(STAMP) $(NODE)  ## run the whole test suite (builds the site first if needed)
	$(BIN)/python -m pytest

serve: $(STAMP)  ## preview on http://127.0.0.1:8000/, rebuilding on save (PORT=8001 for another port)
	$(BIN)/python tools/serve.py --port $(or $(PORT),8000)

chapter: $(STAMP)  ## start a chapter from the template: make chapter NAME=my-topic TITLE="My topic"
	$(BIN)/python tools/new_chapter.py "$(NAME)" "$(TITLE)"

lint: $(STAMP)  ## run the pre-commit checks on every file, fixing what they can
	$(BIN)/pre-commit run --all-files

hooks: $(STAMP)  ## run those checks on every `git commit`
	$(BIN)/pre-commit install

bench: $(STAMP)  ## print build and execution timings (not a test)
	$(BIN)/python tools/bench.py

clean:  ## remove _build: the site, the execution cache, the Colab test virtualenv (keeps .venv)
	rm -rf _build
