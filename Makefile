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
# The browser tests drive Debian's chromium (GitHub runners: CHROMIUM_PATH=/usr/bin/google-chrome).
CHROMIUM_PATH ?= /usr/bin/chromium
export CHROMIUM_PATH

.DEFAULT_GOAL := html
.PHONY: install chromium html notebooks test bench bench-site clean help serve chapter lint hooks

help:  ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

$(STAMP): requirements.txt code/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -e ./code
	@touch $@

$(NODE): package-lock.json
	npm ci --no-audit --no-fund --silent
	@touch $@

chromium:  ## install Debian's chromium for the browser tests when it is missing
	@if [ -x "$(CHROMIUM_PATH)" ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	else echo "The browser tests need Chromium: run 'sudo apt-get update && sudo apt-get install -y chromium'" \
	          "(or set CHROMIUM_PATH to a Chrome/Chromium binary)."; exit 1; fi

install: $(STAMP) $(NODE) chromium  ## install everything html and test need (they do it on first use)

html: $(STAMP) $(NODE)  ## build the site into _build/html
	$(BIN)/python tools/build.py

notebooks: html  ## write the Colab copies notebooks/*.ipynb from the chapters and their build (commit them)
	$(BIN)/python tools/colab.py

test: $(STAMP) $(NODE) chromium  ## run the whole test suite (builds the site first if needed)
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

bench-site: $(STAMP) $(NODE) chromium  ## Lighthouse and bytes per page, ours vs a default Jupyter Book build (not a test)
	$(BIN)/python tools/bench_site.py

clean:  ## remove _build: the site, the execution cache, the Colab test virtualenvs (keeps .venv)
	rm -rf _build
