#!/usr/bin/env bash
# `make run`: Kiln on http://127.0.0.1:3000 with a demo that shows the whole product.
#
# Where this host can build images (root, with Debian's buildah, skopeo and slirp4netns,
# which it installs with apt-get when they are missing), it starts Debian's docker-registry
# on 127.0.0.1:5000 (KILN_RUN_REGISTRY_PORT), with its storage under target/run-env (apart
# from the tests' target/build-env), pushes a small Debian base image into it
# (scripts/build-env.sh) and turns local builds on, pushing there. Then `kiln demo --samples`
# seeds the group demo: four registered images and, with builds on, the custom image
# debian-hello, whose build starts as soon as Kiln serves. Where it cannot build, it says
# what it skipped and how to turn builds on, and Kiln serves with builds off.
#
# Settings already in the environment win: with KILN_BUILDER=none nothing is set up for
# builds; with KILN_BUILD_REGISTRY set, that registry is used and none is started (set
# KILN_DEMO_BASE_IMAGE too for debian-hello). Ctrl-C stops Kiln and the registry.
set -euo pipefail
cd "$(dirname "$0")/.."
kiln=${KILN_BIN:-./target/release/kiln}
port=${KILN_RUN_REGISTRY_PORT:-5000}
state=target/run-env
registry=127.0.0.1:$port
export LEPTOS_SITE_ROOT=${LEPTOS_SITE_ROOT:-target/site} LEPTOS_ENV=${LEPTOS_ENV:-PROD}

# What the build setup needs, as commands and as the Debian packages that bring them.
tools=(buildah skopeo slirp4netns unshare docker-registry debootstrap busybox curl)
packages=(buildah skopeo slirp4netns util-linux docker-registry debootstrap busybox-static curl)

skipped=""
skip() { skipped="$1"; }

missing_tools() {
  local t missing=()
  for t in "${tools[@]}"; do command -v "$t" >/dev/null || missing+=("$t"); done
  echo "${missing[*]}"
}

# Installs what is missing, as `make test` does; false (saying nothing) when it cannot.
install_tools() {
  [ -z "$(missing_tools)" ] && return 0
  command -v apt-get >/dev/null || return 1
  echo "Installing what builds need: apt-get install ${packages[*]}"
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${packages[@]}"; } \
    >"$state/apt.log" 2>&1 || return 1
  [ -z "$(missing_tools)" ]
}

# The loopback registry and the Debian base image in it (made once, then reused).
start_registry() {
  echo "Starting the loopback registry on $registry with a Debian base image in it" \
    "(made with debootstrap the first time: a minute or two)..."
  KILN_TEST_REGISTRY_PORT=$port KILN_BUILD_ENV_STATE=$state scripts/build-env.sh start \
    >"$state/build-env.log" 2>&1
}

# Stops the registry if scripts/build-env.sh started it (not one that was answering already).
stop_registry() {
  [ -f "$state/registry.pid" ] || return 0
  KILN_BUILD_ENV_STATE=$state scripts/build-env.sh stop
  echo "Stopped the loopback registry on $registry (its images stay in $state/registry)."
}

mkdir -p "$state"
started_registry=""
if [ "${KILN_BUILDER:-auto}" = none ]; then
  skip "KILN_BUILDER=none"
elif [ -n "${KILN_BUILD_REGISTRY:-}" ]; then
  echo "Builds push to KILN_BUILD_REGISTRY=$KILN_BUILD_REGISTRY (no loopback registry started)."
elif [ "$(id -u)" != 0 ]; then
  skip "not root (local builds run in namespaces of their own)"
elif ! install_tools; then
  if command -v apt-get >/dev/null; then
    skip "apt-get could not install $(missing_tools) (see $state/apt.log)"
  else
    skip "no apt-get here to install $(missing_tools)"
  fi
elif ! start_registry; then
  skip "the loopback registry or its Debian base image could not be made (see $state/build-env.log)"
else
  started_registry=1
  trap stop_registry EXIT
  export KILN_BUILD_REGISTRY="$registry/kiln"
  export KILN_INSECURE_REGISTRIES="${KILN_INSECURE_REGISTRIES:+$KILN_INSECURE_REGISTRIES,}$registry"
  export KILN_DEMO_BASE_IMAGE="${KILN_DEMO_BASE_IMAGE:-$registry/base/debian:bookworm}"
  # Sites whose outbound TLS is intercepted: apt, conda and pip in builds trust the host's CAs.
  if [ -z "${KILN_BUILD_CA_BUNDLE:-}" ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    export KILN_BUILD_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
  fi
fi

"$kiln" demo --samples \
  || echo "kiln demo did not seed everything (said above); Kiln serves all the same."
if [ "$skipped" = "KILN_BUILDER=none" ]; then
  echo "Builds are off on this run: KILN_BUILDER=none. Unset it to have them."
elif [ -n "$skipped" ]; then
  cat <<EOF
Builds are off on this run: $skipped.
To turn them on, run \`make run\` as root on Debian (it installs buildah, skopeo, slirp4netns,
docker-registry and debootstrap with apt-get, and starts a registry on $registry), or set
KILN_BUILD_REGISTRY to a registry Kiln may push to and run Kiln as root with buildah, skopeo
and slirp4netns installed (README.md, Configuration).
EOF
fi

if [ -n "$started_registry" ]; then
  echo "Kiln serves on http://${KILN_LISTEN:-127.0.0.1:3000}, building with buildah into $KILN_BUILD_REGISTRY. Ctrl-C stops Kiln and the registry."
else
  echo "Kiln serves on http://${KILN_LISTEN:-127.0.0.1:3000}. Ctrl-C stops it."
fi
"$kiln" serve
