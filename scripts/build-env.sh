#!/usr/bin/env bash
# A real registry on loopback and base images in it, for the build tests and benchmarks.
#   scripts/build-env.sh start   starts Debian's docker-registry on 127.0.0.1:$KILN_TEST_REGISTRY_PORT
#                                (default 5055) and pushes two base images into it:
#                                base/debian:bookworm (debootstrap minbase + python3-pip; the root
#                                folder is cached under target/) and base/busybox:1 (no apt).
#   scripts/build-env.sh stop    stops the registry.
# Prints nothing on success but the two image references. KILN_BUILD_ENV_STATE is the folder,
# inside the checkout, of the registry's storage, pid and logs (default target/build-env;
# `make run` keeps its own).
set -euo pipefail
cd "$(dirname "$0")/.."
port=${KILN_TEST_REGISTRY_PORT:-5055}
state=${KILN_BUILD_ENV_STATE:-target/build-env}
registry=127.0.0.1:$port
export STORAGE_DRIVER=vfs BUILDAH_ISOLATION=chroot

start_registry() {
  mkdir -p "$state/registry"
  cat > "$state/registry.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $PWD/$state/registry
  delete:
    enabled: true
http:
  addr: $registry
YAML
  if ! curl -fsS "http://$registry/v2/" >/dev/null 2>&1; then
    nohup docker-registry serve "$state/registry.yml" >"$state/registry.log" 2>&1 &
    echo $! >"$state/registry.pid"
    for _ in $(seq 50); do curl -fsS "http://$registry/v2/" >/dev/null 2>&1 && break; sleep 0.2; done
  fi
  curl -fsS "http://$registry/v2/" >/dev/null
}

has_image() {
  skopeo inspect --tls-verify=false "docker://$registry/$1" >/dev/null 2>&1
}

debian_base() {
  local root=target/build-env-cache/debian-rootfs
  if [ ! -x "$root/usr/bin/python3" ]; then
    rm -rf "$root.tmp"
    mkdir -p "$(dirname "$root")"
    debootstrap --variant=minbase --include=python3-pip,ca-certificates bookworm "$root.tmp" \
      http://deb.debian.org/debian >"$state/debootstrap.log" 2>&1
    rm -rf "$root" && mv "$root.tmp" "$root"
  fi
  local ctr
  ctr=$(buildah from scratch)
  buildah copy --quiet "$ctr" "$root" / >/dev/null
  buildah config --cmd /bin/bash --user root --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
  buildah commit --quiet --rm "$ctr" kiln-test-base-debian >/dev/null
  buildah push --quiet --tls-verify=false kiln-test-base-debian "docker://$registry/base/debian:bookworm"
  buildah rmi -f kiln-test-base-debian >/dev/null
}

busybox_base() {
  local ctr
  ctr=$(buildah from scratch)
  buildah copy --quiet "$ctr" /bin/busybox /bin/busybox >/dev/null
  buildah run "$ctr" /bin/busybox --install -s /bin
  buildah config --cmd /bin/sh --user 1000 "$ctr"
  buildah commit --quiet --rm "$ctr" kiln-test-base-busybox >/dev/null
  buildah push --quiet --tls-verify=false kiln-test-base-busybox "docker://$registry/base/busybox:1"
  buildah rmi -f kiln-test-base-busybox >/dev/null
}

case "${1:-start}" in
  start)
    mkdir -p "$state"
    start_registry
    has_image base/debian:bookworm || debian_base
    has_image base/busybox:1 || busybox_base
    echo "$registry/base/debian:bookworm"
    echo "$registry/base/busybox:1"
    ;;
  stop)
    if [ -f "$state/registry.pid" ]; then kill "$(cat "$state/registry.pid")" 2>/dev/null || true; rm -f "$state/registry.pid"; fi
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
