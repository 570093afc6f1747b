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
.PHONY: install chromium html test bench bench-site clean help

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

test: $(STAMP) $(NODE) chromium  ## run the whole test suite (builds the site first if needed)
	$(BIN)/python -m pytest

bench: $(STAMP)  ## print build and execution timings (not a test)
	$(BIN)/python tools/bench.py

bench-site: $(STAMP) $(NODE) chromium  ## Lighthouse and bytes per page, ours vs a default Jupyter Book build (not a test)
	$(BIN)/python tools/bench_site.py

clean:  ## remove the built site and the execution cache (keeps .venv)
	rm -rf _build
