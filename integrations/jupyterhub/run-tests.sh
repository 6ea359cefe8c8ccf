#!/usr/bin/env bash
# Runs the kiln_jupyterhub tests in integrations/jupyterhub/.venv (made when missing).
#
#   integrations/jupyterhub/run-tests.sh                 # unit and KubeSpawner tests
#   KILN_BIN=target/release/kiln integrations/jupyterhub/run-tests.sh   # also against Kiln
#
# Arguments are passed to pytest, e.g. `-k gpu` or `-x`.
set -euo pipefail

# KILN_BIN may be relative to where this is run from; make it absolute before cd.
if [[ -n "${KILN_BIN:-}" ]]; then
    [[ -x "$KILN_BIN" ]] || { echo "KILN_BIN=$KILN_BIN is not an executable file" >&2; exit 2; }
    KILN_BIN="$(realpath "$KILN_BIN")"
    export KILN_BIN
fi

cd "$(dirname "$(realpath "$0")")"
VENV=.venv

if [[ ! -x "$VENV/bin/python" ]]; then
    if ! python3 -m venv "$VENV"; then
        # Debian and Ubuntu ship venv (ensurepip) separately.
        rm -rf "$VENV"
        if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
            python3 -m venv "$VENV"
        else
            echo "python3 -m venv failed: install python3-venv (apt-get install python3-venv)" >&2
            exit 1
        fi
    fi
fi

"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    -e . -r requirements-test.txt

exec "$VENV/bin/python" -m pytest "$@"
