# Two commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
AIRFLOW_VERSION ?= 3.3.2
# `make compat`: the lowest supported Airflow minor at its latest patch, and the newest release.
COMPAT_AIRFLOW_VERSIONS ?= 3.1.8 $(AIRFLOW_VERSION)
# The project's extras `make install` (and `make compat`, in each of its venvs) installs.
EXTRAS ?= dev
# Debian packages the tests use (the browser test drives Debian's chromium and its chromedriver).
DEBIAN_PACKAGES ?= chromium chromium-driver

.PHONY: install demo airflow test lint pytest bench clean e2e-celery compat

install: $(VENV)/.installed debian-packages

# Installs what is missing (apt-get, through sudo when not root); quiet when all are there.
.PHONY: debian-packages
debian-packages:
	sh scripts/ensure_debian_packages.sh $(DEBIAN_PACKAGES)

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[$(EXTRAS)]' 'apache-airflow==$(AIRFLOW_VERSION)'
	touch $@

demo: install
	$(PY) scripts/demo.py

# A real Airflow (UI and REST API on 127.0.0.1:$AIRFLOW_PORT, default 8080) running the example DAG
# against the seeded fakes until Ctrl-C; AIRFLOW_HOME is .airflow.
airflow: install
	$(PY) scripts/airflow_local.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

pytest: install
	$(PY) -m pytest -q

test: lint pytest

# mypy, the whole suite and the demo on every Airflow of COMPAT_AIRFLOW_VERSIONS, each in its own
# venv under .compat/ (reused while pyproject.toml is unchanged); prints a table, fails if any did.
compat: debian-packages
	$(PYTHON) scripts/compat.py --python $(PYTHON) --extras $(EXTRAS) $(COMPAT_AIRFLOW_VERSIONS)

# The example DAG on CeleryExecutor: throwaway PostgreSQL and Redis, api-server, scheduler,
# dag-processor and two Celery workers on 127.0.0.1 (scripts/e2e_celery.py; a few minutes).
# Installs what is missing: the Debian packages, and the `celery` extra into the venv.
CELERY_DEBIAN_PACKAGES ?= postgresql redis-server
e2e-celery: $(VENV)/.installed-celery
	sh scripts/ensure_debian_packages.sh $(CELERY_DEBIAN_PACKAGES)
	$(PY) scripts/e2e_celery.py

$(VENV)/.installed-celery: $(VENV)/.installed
	$(PY) -m pip install -q -e '.[dev,celery]' 'apache-airflow==$(AIRFLOW_VERSION)'
	touch $@

bench: install
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) .compat .demo .airflow .pytest_cache .mypy_cache .ruff_cache
