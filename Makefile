# Kiln's two commands: `make run` serves Kiln with a demo group, `make test` runs every test.
# Both install what they need on a fresh Debian machine with the stock Rust toolchain.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export PATH := $(HOME)/.cargo/bin:$(PATH)
# One build per machine (CI) gains nothing from incremental compilation, which costs disk.
export CARGO_INCREMENTAL := 0

CARGO_LEPTOS_VERSION := 0.3.10
WASM_BINDGEN_VERSION := 0.2.130
BINARYEN_VERSION := 132.0.0
KILN := ./target/release/kiln
# Where the release build's pages, wasm and CSS are served from.
export LEPTOS_SITE_ROOT := target/site
export LEPTOS_ENV := PROD
PG_ROLE := kiln_test
# The CycloneDX project's Python library, which the SBOM tests validate Kiln's SBOMs with
# (PyPI only: Debian has no package of it), in a venv of its own.
CYCLONEDX_LIB_VERSION := 11.12.0
SBOM_VENV := target/sbom-venv

.PHONY: run test tools test-tools build lint test-rust pg-up test-postgres build-env test-builds test-replicas test-k8s test-e2e test-jupyterhub wasm-size bench-catalog bench-log bench-builds bench-rebuild bench-flood bench-launch bench-takeover bench-failover

## Build the release, create ./data/kiln.db, seed the demo (sample images, and a custom one
## built into a loopback registry where this host can build) and serve on http://127.0.0.1:3000
run: tools build
	KILN_BIN=$(KILN) scripts/run.sh

## Every test: Rust on SQLite and on PostgreSQL, lints, then the browser tests on a release build
test: test-tools lint test-rust test-postgres test-builds test-replicas build test-k8s test-e2e test-jupyterhub

build:
	cargo leptos build --release

tools:
	rustup target add wasm32-unknown-unknown
	cargo leptos --version 2>/dev/null | grep -q '$(CARGO_LEPTOS_VERSION)' \
	  || cargo install cargo-leptos --version $(CARGO_LEPTOS_VERSION) --locked
	wasm-bindgen --version 2>/dev/null | grep -q '$(WASM_BINDGEN_VERSION)' \
	  || cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION)
	command -v wasm-opt >/dev/null || npm install --global --no-fund --no-audit binaryen@$(BINARYEN_VERSION)

test-tools: tools
	command -v chromium >/dev/null && command -v pg_ctlcluster >/dev/null && command -v buildah >/dev/null \
	  && command -v skopeo >/dev/null && command -v slirp4netns >/dev/null && command -v docker-registry >/dev/null && command -v debootstrap >/dev/null \
	  && command -v busybox >/dev/null && command -v curl >/dev/null && command -v pgrep >/dev/null \
	  && command -v kubectl >/dev/null \
	  && python3 -m venv --help >/dev/null 2>&1 \
	  && /usr/bin/python3 -c 'import prometheus_client' 2>/dev/null \
	  || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium postgresql \
	         buildah skopeo slirp4netns docker-registry debootstrap busybox-static curl procps python3-venv \
	         python3-prometheus-client \
	         $$(command -v kubectl >/dev/null || echo kubernetes-client); }
	rustup component add clippy rustfmt
	$(SBOM_VENV)/bin/python3 -c 'import cyclonedx.validation.json, packageurl' 2>/dev/null \
	  || { python3 -m venv $(SBOM_VENV) && $(SBOM_VENV)/bin/pip install -q --disable-pip-version-check \
	         'cyclonedx-python-lib[json-validation]==$(CYCLONEDX_LIB_VERSION)'; }
	cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-fund --no-audit

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p app --lib --no-default-features --features hydrate --target wasm32-unknown-unknown -- -D warnings

# The Rust tests run in parallel (each has its own database and its own Kiln). The real
# builds and the replicas run one at a time: they share the machine's buildah storage and
# its two cores.
SERIAL := -- --test-threads=1

## Rust tests against a fresh SQLite file per test
test-rust:
	cargo test --workspace

# A local PostgreSQL for tests and benchmarks: the first cluster, started, with a role that
# may create databases. Prints nothing; `PG_URL` below points at it.
PG_PORT = $$(pg_lsclusters --no-header | awk 'NR==1 {print $$3}')
PG_URL = postgres://$(PG_ROLE):$(PG_ROLE)@127.0.0.1:$(PG_PORT)
# A cluster that won't start (a full disk, say) fails here with its log's tail.
pg-up:
	@read -r ver name port _ <<<"$$(pg_lsclusters --no-header | head -n1)"; \
	pg_lsclusters --no-header | head -n1 | grep -q online \
	  || pg_ctlcluster --skip-systemctl-redirect $$ver $$name start \
	  || { df -h /var/lib/postgresql; tail -n 20 /var/log/postgresql/postgresql-$$ver-$$name.log; exit 1; }; \
	su postgres -c "psql -q -p $$port -v ON_ERROR_STOP=1" <<<"DO \$$\$$ BEGIN \
	  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$(PG_ROLE)') THEN \
	    CREATE ROLE $(PG_ROLE) LOGIN CREATEDB PASSWORD '$(PG_ROLE)'; END IF; END \$$\$$;"

## The same tests against a real PostgreSQL: a fresh database per test
test-postgres: pg-up
	su postgres -c "psql -qAt -p $(PG_PORT) -c \"SELECT 'DROP DATABASE ' || datname || ';' FROM pg_database WHERE datname LIKE 'kiln_test_%'\"" \
	  | su postgres -c "psql -q -p $(PG_PORT)" >/dev/null
	KILN_TEST_DATABASE_URL=$(PG_URL)/postgres cargo test --workspace

## Catalog list queries with 60,000 images: SQLite, then PostgreSQL
bench-catalog: pg-up
	cargo run --release -q -p bench --bin bench-catalog
	su postgres -c "psql -q -p $(PG_PORT) -c 'DROP DATABASE IF EXISTS kiln_bench' -c 'CREATE DATABASE kiln_bench OWNER $(PG_ROLE)'"
	KILN_BENCH_DATABASE_URL=$(PG_URL)/kiln_bench cargo run --release -q -p bench --bin bench-catalog

# The loopback registry and base images the build tests use (scripts/build-env.sh).
TEST_REGISTRY := 127.0.0.1:5055
build-env:
	KILN_TEST_REGISTRY_PORT=$(lastword $(subst :, ,$(TEST_REGISTRY))) scripts/build-env.sh start

## Real builds with buildah into a registry on loopback, on SQLite and on PostgreSQL
test-builds: build-env pg-up
	KILN_TEST_REGISTRY=$(TEST_REGISTRY) cargo test -p server --test builds $(SERIAL) --ignored
	KILN_TEST_REGISTRY=$(TEST_REGISTRY) cargo test -p server --test cli $(SERIAL) --ignored
	KILN_TEST_REGISTRY=$(TEST_REGISTRY) KILN_TEST_DATABASE_URL=$(PG_URL)/postgres \
	  cargo test -p server --test builds $(SERIAL) --ignored

## Two Kiln processes on one PostgreSQL: the leader is killed, the other takes the build
## queue over (real buildah, loopback registry)
test-replicas: build-env pg-up
	KILN_TEST_REGISTRY=$(TEST_REGISTRY) KILN_TEST_DATABASE_URL=$(PG_URL)/postgres \
	  cargo test -p server --test replicas $(SERIAL) --ignored --nocapture

## The Build Details page of a build with a 100,000-line log: SQLite, then PostgreSQL
bench-log: pg-up
	cargo run --release -q -p bench --bin bench-log
	su postgres -c "psql -q -p $(PG_PORT) -c 'DROP DATABASE IF EXISTS kiln_bench_log' -c 'CREATE DATABASE kiln_bench_log OWNER $(PG_ROLE)'" 2>/dev/null
	KILN_BENCH_DATABASE_URL=$(PG_URL)/kiln_bench_log cargo run --release -q -p bench --bin bench-log

## Kiln's local build against plain buildah on the same files, and an unchanged-spec rebuild
bench-builds: build-env
	KILN_TEST_REGISTRY=$(TEST_REGISTRY) cargo run --release -q -p bench --bin bench-builds

## A spec with real packages built cold, then with one more Pip package: times and bytes pushed,
## from this host's layer cache and, as another host, from the registry's
bench-rebuild: build-env
	KILN_TEST_REGISTRY=$(TEST_REGISTRY) cargo run --release -q -p bench --bin bench-rebuild

## A real build printing a 2 GiB line, then lines for 5 minutes: Kiln's peak memory and stored log
bench-flood: build-env
	KILN_FLOOD_SECONDS=300 KILN_TEST_REGISTRY=$(TEST_REGISTRY) cargo test -q -p server --test builds -- \
	  --ignored --nocapture a_build_flooding_its_output 2>&1 | grep -E '^flood:|test result'

## Browser tests (Playwright + Debian Chromium), hydrated and with JavaScript off
test-e2e: pg-up
	cd end2end && KILN_E2E_DATABASE_URL=$(PG_URL)/postgres npx playwright test \
	  || { echo "--- the last lines of Kiln's log (end2end/.state/kiln.log) ---"; tail -n 60 .state/kiln.log; exit 1; }

## Every Kubernetes object Kiln makes (deploy/ and a build's Job, ConfigMap, Secret),
## validated strictly against the Kubernetes 1.33 schemas
test-k8s:
	scripts/check-k8s.sh $(KILN)

## The JupyterHub integration (pytest, the real jupyterhub-kubespawner), against the release build
test-jupyterhub:
	KILN_BIN=$(KILN) integrations/jupyterhub/run-tests.sh -q

## How long another replica takes to drive the build queue when the leader is killed,
## then when it is stopped gracefully
bench-takeover: pg-up
	cargo build --release -q -p server --bin kiln
	su postgres -c "psql -q -p $(PG_PORT) -c 'DROP DATABASE IF EXISTS kiln_bench_takeover' -c 'CREATE DATABASE kiln_bench_takeover OWNER $(PG_ROLE)'" 2>/dev/null
	scripts/bench-takeover.sh $(KILN) $(PG_URL)/kiln_bench_takeover
	SIGNAL=TERM scripts/bench-takeover.sh $(KILN) $(PG_URL)/kiln_bench_takeover

## How long another replica takes to drive the build queue when the leader is frozen
## (SIGSTOP: its socket stays open), and that the frozen one, resumed, drives nothing
bench-failover: pg-up
	cargo build --release -q -p server --bin kiln
	su postgres -c "psql -q -p $(PG_PORT) -c 'DROP DATABASE IF EXISTS kiln_bench_failover' -c 'CREATE DATABASE kiln_bench_failover OWNER $(PG_ROLE)'" 2>/dev/null
	scripts/bench-failover.sh $(KILN) $(PG_URL)/kiln_bench_failover

## Requests/s and p99 of the launchable-images API against nginx serving the same JSON (wrk)
bench-launch: pg-up
	command -v wrk >/dev/null && command -v nginx >/dev/null \
	  || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk nginx-light; }
	cargo run --release -q -p bench --bin bench-launch
	su postgres -c "psql -q -p $(PG_PORT) -c 'DROP DATABASE IF EXISTS kiln_bench_launch' -c 'CREATE DATABASE kiln_bench_launch OWNER $(PG_ROLE)'" 2>/dev/null
	KILN_BENCH_DATABASE_URL=$(PG_URL)/kiln_bench_launch cargo run --release -q -p bench --bin bench-launch

## The release hydrate bundle's size, raw and gzipped (budget: 400 KB gzipped)
wasm-size:
	@f=$$(ls target/site/pkg/kiln.*wasm 2>/dev/null | head -n1); test -n "$$f" || { echo "no target/site/pkg/kiln.<hash>.wasm: run make build first"; exit 1; }; \
	raw=$$(stat -c %s $$f); gz=$$(gzip -9 -c $$f | wc -c); \
	awk -v r=$$raw -v g=$$gz 'BEGIN { printf "hydrate wasm: %.1f KB raw, %.1f KB gzipped (budget 300 KB gzipped)\n", r/1000, g/1000 }'; \
	test $$gz -le 300000
