#!/usr/bin/env bash
# Starts the release build on a fresh SQLite database for the browser tests: the demo
# seed (its printed passwords are what the tests sign in with) plus accounts made with
# the CLI, as an operator would.
set -euo pipefail
cd "$(dirname "$0")"
port=${1:-3900}
state=$PWD/.state
rm -rf "$state" && mkdir -p "$state"
export KILN_DATABASE_URL="sqlite://$state/kiln.db" KILN_DATA_DIR="$state" KILN_LISTEN="127.0.0.1:$port"
export LEPTOS_SITE_ROOT=../target/site LEPTOS_ENV=PROD
kiln=../target/release/kiln

# Builds: buildah on this host, pushing to the loopback registry of scripts/build-env.sh,
# which also holds the base images the build specs start from.
registry=127.0.0.1:${KILN_TEST_REGISTRY_PORT:-5055}
../scripts/build-env.sh start >/dev/null
export KILN_BUILD_REGISTRY="$registry/kiln-e2e-$(date +%s)" KILN_INSECURE_REGISTRIES="$registry"
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then export KILN_BUILD_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt; fi

$kiln demo > "$state/demo.txt"
$kiln group add other
$kiln user add other-admin --password-stdin <<<"other-admin-password"
$kiln member add other other-admin --admin
$kiln user add loner --password-stdin <<<"loner-password"
$kiln user add root --system-admin --password-stdin <<<"root-password"
for project in hydrated no-js; do
  for group in "team-$project" "team-$project-builds" "manual-$project" "pages-$project" "zh-$project"; do
    $kiln group add "$group"
    $kiln member add "$group" demo-admin --admin
  done
done
# The launch spec's group and a write token (as root) to fill it through the REST API.
$kiln group add launch-e2e
$kiln member add launch-e2e demo-admin --admin
$kiln token create --name e2e-writer --scope write --user root > "$state/token.txt" 2>/dev/null
# Tokens acting as demo-member, one for each project's "Your tokens" walk.
for project in hydrated no-js; do
  $kiln token create --name "laptop-$project" --scope read --user demo-member --expires-in 30d >/dev/null 2>&1
done
# Kiln's own log goes to a file, so that the test report is what ends the output;
# `make test-e2e` prints its tail when a test fails.
exec $kiln serve 2>"$state/kiln.log"
