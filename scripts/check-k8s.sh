#!/usr/bin/env bash
# Validates every Kubernetes object Kiln makes against the official 1.33 schemas, strictly
# (unknown fields fail): the manifests `kubectl kustomize deploy` renders, and the Job,
# ConfigMap and Secret of an example build (and its smoke test's Pod and pull secret) as
# `kiln kube render` renders them for both
# builders (and BuildKit's process sandbox and layer-cache step) with the build Pods'
# NetworkPolicy. Checks that
# deploy/'s NetworkPolicy is the one Kiln renders for its defaults, and that every KILN_*
# setting in deploy/ is one Kiln knows.
# Usage: scripts/check-k8s.sh path/to/kiln
set -euo pipefail
cd "$(dirname "$0")/.."
kiln=${1:?usage: $0 path/to/kiln}
out=target/k8s
venv=target/k8s-venv
mkdir -p "$out"
[ -x "$venv/bin/kubernetes-validate" ] || {
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q kubernetes-validate==1.37.0
}
validate() { "$venv/bin/kubernetes-validate" --strict --kubernetes-version 1.33.0 "$@"; }

kubectl kustomize deploy > "$out/deploy.yaml"
"$kiln" kube render > "$out/build-buildkit.yaml"
KILN_K8S_BUILDER=buildah KILN_BUILD_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt \
  KILN_INSECURE_REGISTRIES=registry.example.org KILN_K8S_NODE_SELECTOR=kiln.dev/builds=yes \
  KILN_K8S_TOLERATIONS='[{"key":"builds","operator":"Exists","effect":"NoSchedule"}]' \
  "$kiln" kube render > "$out/build-buildah.yaml"
KILN_K8S_PROCESS_SANDBOX=true KILN_K8S_BUILD_EGRESS_ALLOW=10.20.0.5/32 \
  KILN_K8S_PULL_SECRET_NAMESPACES=jupyterhub,team-a \
  KILN_K8S_CACHE_IMAGE=registry.example.org/platform/kiln:0.1.0 KILN_BUILD_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt \
  "$kiln" kube render > "$out/build-sandboxed.yaml"
grep -q '"kubernetes.io/dockerconfigjson"' "$out/build-sandboxed.yaml" \
  || { echo "kube render printed no pull secret" >&2; exit 1; }
grep -q 'build-cache' "$out/build-sandboxed.yaml" \
  || { echo "kube render printed no layer-cache step" >&2; exit 1; }
validate "$out/deploy.yaml" "$out/build-buildkit.yaml" "$out/build-buildah.yaml" \
  "$out/build-sandboxed.yaml" deploy/pull-secrets/rbac.yaml

# deploy/ ships the NetworkPolicy Kiln renders for its defaults, not a copy that drifted.
KILN_K8S_NAMESPACE=kiln-builds "$kiln" kube render > "$out/build-defaults.yaml"
"$venv/bin/python" - "$out/deploy.yaml" "$out/build-defaults.yaml" <<'PY'
import sys, yaml
def policies(path):
    return [d for d in yaml.safe_load_all(open(path)) if d and d.get("kind") == "NetworkPolicy"]
# The builds' policy; Kiln's own (networkpolicy-kiln.yaml, in Kiln's namespace) is the site's.
shipped = [p for p in policies(sys.argv[1]) if p["metadata"]["name"] != "kiln-ingress"]
rendered = policies(sys.argv[2])
if len(shipped) != 1 or shipped != rendered:
    sys.exit("deploy/networkpolicy-builds.yaml differs from `kiln kube render`:\n%s\n%s" % (shipped, rendered))
PY

# The validator must refuse what Kubernetes would: a misspelt field fails.
sed 's/"backoffLimit"/"backofLimit"/' "$out/build-buildkit.yaml" > "$out/broken.yaml"
if validate --quiet "$out/broken.yaml" >/dev/null 2>&1; then
  echo "kubernetes-validate accepted a misspelt field: it is not checking strictly" >&2
  exit 1
fi

known=$("$kiln" --help | grep -o 'env: KILN_[A-Z0-9_]*' | sed 's/env: //' | sort -u)
for key in $(grep -ho '^ *KILN_[A-Z0-9_]*:' deploy/*.yaml | tr -d ' :' | sort -u); do
  grep -qx "$key" <<<"$known" || { echo "deploy/ sets $key, which Kiln does not know" >&2; exit 1; }
done
echo "Kubernetes objects valid against 1.33 (strict); deploy/ settings known to Kiln."
