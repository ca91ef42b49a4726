# Two entry points (see README):
#   make report   set up .venv, then regenerate every report on the bundled default data
#   make test     set up .venv with the Spark extra (and a headless browser for the HTML checks, a
#                 Java runtime for the Spark engine test), then run the tests
PYTHON ?= python3.12
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)
SPARK_STAMP := $(VENV)/.spark-$(shell cat pyproject.toml | sha256sum | cut -c1-12)

.PHONY: report test setup spark java browser benchmarks clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 12), "Python 3.12+ is required; set PYTHON=/path/to/python3.12"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $@

# Debian's Chromium for the rendered-HTML tests (no browser download; see README).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the HTML checks"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; }

# The Spark engine of `python -m analysis panels` (optional extra, ~0.5 GB; not needed by `make report`).
spark: $(SPARK_STAMP) java

$(SPARK_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,spark]'
	@rm -f $(VENV)/.spark-*
	@touch $@

# Debian's headless Java runtime for PySpark 4 (Java 17+), only when no java is on PATH.
java:
	@command -v java >/dev/null 2>&1 || { \
	  echo "Installing Debian's headless Java runtime for the Spark engine"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null; }

report: $(STAMP)
	$(BIN)/python -m analysis build

test: $(STAMP) browser spark
	$(BIN)/python -m pytest -n 2 --dist loadfile

# Speed and simulation benchmarks (tens of minutes; they print tables, see benchmarks/README.md).
benchmarks: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/did_speed.py
	$(BIN)/python benchmarks/did_simulation_study.py
	$(BIN)/python benchmarks/load_validate.py --size national
	$(BIN)/python benchmarks/panel_build.py
	$(BIN)/python benchmarks/report_build.py

clean:
	rm -rf $(VENV) reports data/synthetic/*/
