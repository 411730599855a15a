# c2d — `make demo` and `make test` install whatever is missing, then run.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
JS_STAMP := js/node_modules/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test install lint typecheck unit bench clean image

demo: install
	$(BIN)/c2d demo

test: install /usr/bin/linux.uml $(JS_STAMP) lint typecheck /usr/bin/docker-registry /usr/bin/umoci /bin/busybox \
		/usr/bin/chromium /usr/bin/pg_ctlcluster /usr/bin/buildah /usr/bin/mmdebstrap /usr/bin/strace
	$(BIN)/pytest -q

install: $(PY_STAMP) /usr/bin/bwrap

# The fast loop: tests that need no root, sandbox, chain or node (docs/design.md#developing).
unit: $(PY_STAMP)
	$(BIN)/pytest -q -m "not (e2e or sandbox or root or chain or node or postgresql)"

# Figures against a real `c2d serve` (docs/operations.md); not part of `make test`.
bench: install /usr/bin/curl /usr/bin/openssl /usr/bin/skopeo /usr/bin/docker-registry /usr/bin/umoci /bin/busybox
	$(BIN)/python -m bench $(BENCH_ARGS)

/usr/bin/skopeo:
	@echo "installing skopeo (the image pull baseline of make bench) from apt"
	$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq skopeo

/usr/bin/curl:
	@echo "installing curl (the data-path baseline of make bench) from apt"
	$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq curl

/usr/bin/openssl:
	@echo "installing openssl (the checksum of the data-path baseline of make bench) from apt"
	$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq openssl

# The registry and image tools of the image tests (tests/steps/images): a real registry on
# loopback, images built from this machine's files with umoci, busybox as the tiny image's /bin.
/usr/bin/docker-registry /usr/bin/umoci /bin/busybox:
	@echo "installing docker-registry, umoci and busybox-static (the image tests) from apt"
	$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq docker-registry umoci busybox-static

$(PY_STAMP): pyproject.toml requirements.lock requirements-dev.lock requirements-test-servers.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -r requirements-test-servers.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

# The Dockerfile's test (tests/image) builds it without a Docker engine: buildah (chroot
# isolation, vfs storage) on a base that mmdebstrap makes from Debian's packages.
/usr/bin/buildah /usr/bin/mmdebstrap:
	@echo "installing buildah and mmdebstrap (the Dockerfile's test, tests/image) from apt"
	$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq buildah mmdebstrap

# PostgreSQL for the shared-state tests (tests/provider/statedb): each run makes a throwaway
# cluster with initdb and pg_ctl on loopback (tests/postgres_server.py).
/usr/bin/pg_ctlcluster:
	@echo "installing postgresql (the shared state tests) from apt"
	$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq postgresql

# strace holds a process at a chosen system call, so a test can land a signal in a race's
# window every time (tests/steps/test_sigterm.py) instead of one run in a few.
/usr/bin/strace:
	@echo "installing strace (the signal race's test) from apt"
	$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq strace

/usr/bin/bwrap:
	@echo "installing bubblewrap (the algorithm sandbox) from apt"
	$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq bubblewrap

# The browser of the operator page's test (tests/ui), driven by Playwright; never a browser
# build downloaded by `playwright install`.
/usr/bin/chromium:
	@echo "installing chromium (the operator page's browser test) from apt"
	$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium

# The cgroup-v2-only kernel the tests in tests/vm boot as an ordinary process.
/usr/bin/linux.uml:
	@echo "installing user-mode-linux (the cgroup v2 test VM of tests/vm) from apt"
	$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq user-mode-linux

$(JS_STAMP): js/package.json js/package-lock.json
	cd js && npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint: $(PY_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(PY_STAMP)
	$(BIN)/mypy

# The provider + steps image (needs a Docker engine; not part of `make test`).
# Tagged with the package version (pyproject.toml), as the Workflows name the steps image.
VERSION := $(shell sed -n 's/^version = "\(.*\)"$$/\1/p' pyproject.toml)
IMAGE ?= c2d:$(VERSION)
image:
	docker build -t $(IMAGE) .

clean:
	rm -rf $(VENV) js/node_modules .c2d
