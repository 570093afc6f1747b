# The two commands a newcomer needs:
#   make html   build the site into _build/html (executes the chapters that changed)
#   make test   run every test: package, book structure, strict build, built site
# Both create .venv and install requirements.txt plus the package (editable) on first use,
# and reinstall only when requirements.txt or code/pyproject.toml change.

PYTHON ?= python3
# The oldest Python the pins install on. README.md, CONTRIBUTING.md, code/pyproject.toml and the
# workflows say the same (tests/test_python_floor.py checks that they agree).
PYTHON_FLOOR := 3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NODE   := node_modules/.installed
# The browser tests drive Debian's chromium (GitHub runners: CHROMIUM_PATH=/usr/bin/google-chrome).
CHROMIUM_PATH ?= /usr/bin/chromium
export CHROMIUM_PATH

.DEFAULT_GOAL := html
.PHONY: install chromium html notebooks test check bench bench-site clean help serve chapter lint hooks

help:  ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

# Before installing, `make` stops with one line when the Python it would use (.venv's, or
# $(PYTHON) to create .venv) is older than the floor, instead of failing deep inside pip.
PYTHON_USED  = $(if $(wildcard $(BIN)/python),$(BIN)/python,$(PYTHON))
PYTHON_FOUND = $(shell { $(PYTHON_USED) --version 2>&1 || echo not a working Python; } | tail -n 1)
PYTHON_OLD   = $(shell minor=$$(echo '$(PYTHON_FOUND)' | sed -n 's/^Python 3\.\([0-9][0-9]*\).*/\1/p'); \
                 [ "$${minor:-0}" -ge $(word 2,$(subst ., ,$(PYTHON_FLOOR))) ] || echo old)
PYTHON_FIX   = $(if $(wildcard $(BIN)/python),delete $(VENV) and )run make PYTHON=python$(PYTHON_FLOOR) (or a newer Python)

$(STAMP): requirements.txt code/pyproject.toml
	$(if $(PYTHON_OLD),$(error this project needs Python $(PYTHON_FLOOR) or newer, but $(or $(shell command -v $(PYTHON_USED)),$(PYTHON_USED)) is $(PYTHON_FOUND): $(PYTHON_FIX)))
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

# The build is Jupyter Book's own, strict: `jupyter-book build . -W -n --keep-going`. Before it,
# tools/execute.py runs the stale chapters in parallel into the same cache (the build would run
# them one after another), then runs that command in its own process (the modules it imported are
# the build's: 0.5 s less). Make skips both when no source changed since the last good build.
SOURCES := $(shell find book code/src tools _static _templates -type f -not -path '*/__pycache__/*' 2>/dev/null) \
           _config.yml _toc.yml requirements.txt package-lock.json
SITE    := _build/html/.built

$(SITE): $(STAMP) $(NODE) $(SOURCES)
	@mkdir -p $(@D) && touch $@.started  # the stamp is dated when the build starts: an edit made during it is newer
	$(BIN)/python tools/execute.py jupyter-book build . -W -n --keep-going -q
	@mv $@.started $@

html: $(SITE)  ## build the site into _build/html
	@echo "Site: _build/html/index.html"

notebooks: html  ## write the Colab copies notebooks/*.ipynb from the chapters and their build (commit them)
	$(BIN)/python tools/colab.py

test: $(STAMP) $(NODE) chromium  ## run the whole test suite (builds the site first if needed)
	$(BIN)/python -m pytest

check: $(STAMP) $(NODE)  ## the quick loop for every edit (about a minute): lint, package, structure, built-site tests
	$(BIN)/ruff check code tests tools
	$(BIN)/ruff format --check code tests tools
	$(BIN)/python -m pytest -q -m "not build and not colab and not browser"

serve: $(STAMP) $(NODE)  ## preview on http://127.0.0.1:8000/, rebuilding on save (PORT=8001 for another port)
	@# sphinx-autobuild runs sphinx-build, which reads conf.py: Jupyter Book writes it from
	@# _config.yml (documented: jupyter-book config sphinx; gitignored, rewritten every time).
	@# The stale chapters run in parallel once, first; a later edit re-runs its one chapter in myst-nb.
	$(BIN)/jupyter-book config sphinx . > /dev/null
	$(BIN)/python tools/execute.py
	PYTHONPATH=tools $(BIN)/sphinx-autobuild . _build/html -d _build/.doctrees -W --keep-going -n -q \
	  --host 127.0.0.1 --port $(or $(PORT),8000) --watch code/src \
	  --re-ignore '(^|/)(\.[^/]+|_build|node_modules|notebooks|tests|__pycache__)(/|$$)' --re-ignore 'conf\.py$$'

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
