# Ferry: `make run` starts the portal with localglobus and demo data; `make test` runs every test.
# Every FERRY_* and LOCALGLOBUS_* variable in the environment (or in .env) is honoured, so that
# several instances can run side by side; see the README's configuration table.
SHELL := /bin/bash
# One shell per recipe, failing on the first error.
.ONESHELL:
.SHELLFLAGS := -euo pipefail -c
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: help venv run migrate demo test e2e bench lint format screenshot clean
help: ## list the targets
	@grep -E '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-12s %s\n", $$1, $$2}'

# The dev extras bring Playwright's Python package for the e2e tests; its browser download
# (`playwright install`) is never run: the tests drive Debian's /usr/bin/chromium.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# INSTALL=no uses $(VENV) as it is, without installing into it (the tests run `make run`
# with the virtual environment running them).
ifeq ($(INSTALL),no)
venv:
	@test -x $(PY) || { echo "INSTALL=no, but there is no $(PY)" >&2; exit 1; }
else
venv: $(VENV)/.installed ## create the virtual environment and install Ferry (INSTALL=no: use VENV as it is)
endif

# Exports the variables of .env that the environment does not already set, so that localglobus
# and the portal see the same configuration (an empty value counts as unset).
LOAD_DOTENV = eval "$$($(PY) -c 'import os, shlex; from dotenv import dotenv_values; \
	[print("export %s=%s" % (k, shlex.quote(v))) \
	 for k, v in dotenv_values(".env").items() if v and k not in os.environ]')"

run: venv ## migrate, create the demo data, run the Procfile (localglobus + the portal) under honcho
	@$(LOAD_DOTENV)
	portal_url="$${FERRY_BASE_URL:-http://127.0.0.1:5000}"; portal_url="$${portal_url%/}"
	lg_host="$${LOCALGLOBUS_HOST:-127.0.0.1}"; lg_port="$${LOCALGLOBUS_PORT:-8765}"
	# The portal looks for localglobus's state under its own instance folder: agree on it.
	export LOCALGLOBUS_HOME="$${LOCALGLOBUS_HOME:-$${FERRY_INSTANCE:-instance}/localglobus}"
	echo "==> migrating the portal database"
	$(PY) -m app.cli migrate
	echo "==> localglobus demo data: users, the portal client, collections"
	signins="$$($(PY) -m localglobus demo --portal-url "$$portal_url")"
	echo "$$signins"
	hostport="$${portal_url#*://}"; hostport="$${hostport%%/*}"
	portal_host="$${hostport%:*}"; portal_port="$${hostport##*:}"
	if [ "$$portal_port" = "$$hostport" ]; then
	  case "$$portal_url" in https:*) portal_port=443;; *) portal_port=80;; esac
	fi
	# The banner, once both answer, last so that it stays on screen. This waiter ends with
	# honcho, which this shell becomes below ($$$$ stays its pid).
	(
	  for _ in $$(seq 600); do
	    kill -0 $$$$ 2>/dev/null || exit 0
	    if (exec 3<>"/dev/tcp/$$lg_host/$$lg_port") 2>/dev/null \
	      && (exec 3<>"/dev/tcp/$$portal_host/$$portal_port") 2>/dev/null; then
	      line="=================================================================="
	      # In one write, so that no server's output lands in the middle of it.
	      banner="$$(printf '\n%s\n Ferry is running at  %s/\n localglobus          %s\n\n' \
	        "$$line" "$$portal_url" "http://$$lg_host:$$lg_port/"
	        echo "$$signins" | sed 's/^/  /'
	        printf '\n Ctrl-C stops every server.\n%s' "$$line")"
	      printf '%s\n' "$$banner"
	      exit 0
	    fi
	    sleep 0.2
	  done
	  echo "warning: nothing answers on $$portal_url yet (still starting?)" >&2
	) &
	# honcho runs the Procfile, whose `python` is this venv's, in place of this shell: make's
	# signals reach it directly (tools/procfile_runner.py says what it does on each).
	export PATH="$(abspath $(VENV))/bin:$$PATH" PYTHONUNBUFFERED=1
	exec $(PY) tools/procfile_runner.py Procfile

migrate: venv ## apply the portal's database migrations (FERRY_DATABASE_URL)
	@$(LOAD_DOTENV); $(PY) -m app.cli migrate

demo: venv ## create or refresh localglobus's demo users, portal client and collections
	@$(LOAD_DOTENV)
	export LOCALGLOBUS_HOME="$${LOCALGLOBUS_HOME:-$${FERRY_INSTANCE:-instance}/localglobus}"
	$(PY) -m localglobus demo --portal-url "$${FERRY_BASE_URL:-http://127.0.0.1:5000}"

test: venv ## run the whole test suite (set FERRY_TEST_DATABASE_URL/FERRY_TEST_REDIS_URL for PostgreSQL/Redis)
	$(PY) -m pytest

e2e: venv ## run only the end-to-end tests in headless Chromium (/usr/bin/chromium)
	$(PY) -m pytest -m e2e

bench: venv ## run the benchmarks in bench/ (the README's figures)
	@if [ -f bench/__main__.py ]; then exec $(PY) -m bench; fi
	ran=0
	for f in bench/*.py; do
	  case "$$(basename "$$f")" in _*) continue;; esac
	  [ -f "$$f" ] || continue
	  echo "==> $$f"; $(PY) "$$f"; ran=1
	done
	[ $$ran = 1 ] || { echo "no benchmarks in bench/ yet" >&2; exit 1; }

lint: venv ## ruff lint and format check, and the type checker (mypy) on app/, localglobus/ and tools/
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: venv ## ruff format and autofix
	$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

screenshot: venv ## take the README screenshot, docs/screenshot.png, in headless Chromium
	@test -f tests/e2e/screenshot.py || { echo "tests/e2e/screenshot.py is not written yet" >&2; exit 1; }
	$(PY) -m tests.e2e.screenshot

clean: ## remove caches (keeps .venv and instance/)
	rm -rf .pytest_cache .ruff_cache
	find . -name __pycache__ -not -path './.venv/*' -prune -exec rm -rf {} +
