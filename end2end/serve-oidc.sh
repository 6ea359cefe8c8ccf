#!/usr/bin/env bash
# Starts the release build in OIDC mode for the sign-in tests, against the loopback
# OpenID provider of oidc/provider.mjs (which Playwright starts first): groups the
# provider's users are in, and builds off (these tests sign in; they do not build).
set -euo pipefail
cd "$(dirname "$0")"
port=${1:-3901}
provider=${2:-3910}
state=$PWD/.state-oidc
rm -rf "$state" && mkdir -p "$state"
export KILN_DATABASE_URL="sqlite://$state/kiln.db" KILN_DATA_DIR="$state" KILN_LISTEN="127.0.0.1:$port"
export LEPTOS_SITE_ROOT=../target/site LEPTOS_ENV=PROD KILN_BUILDER=none
export KILN_AUTH_MODE=oidc KILN_PUBLIC_URL="http://127.0.0.1:$port"
export KILN_OIDC_ISSUER="http://127.0.0.1:$provider" KILN_OIDC_CLIENT_ID=kiln
export KILN_OIDC_CLIENT_SECRET=kiln-test-secret KILN_OIDC_ADMIN_GROUP=kiln-admins
# Short enough for a test to outlive: a token's groups hold this long after a sign-in.
export KILN_EXTERNAL_GROUPS_TTL=4s
kiln=../target/release/kiln
for group in oidc-ml oidc-cv; do $kiln group add "$group" >/dev/null; done
exec $kiln serve 2>"$state/kiln.log"
