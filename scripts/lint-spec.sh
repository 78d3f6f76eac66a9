#!/usr/bin/env bash
# Lint the OpenAPI documents with Spectral (ruleset spectral:oas via .spectral.yaml); exit non-zero on any error.
#
# Spectral is pinned in package.json and package-lock.json and installed into ./node_modules with `npm ci`,
# so a fresh clone lints with exactly the same version. Install scripts are skipped (Spectral needs none; one
# dependency's postinstall only sends telemetry). Extra arguments go to `spectral lint`, e.g.
#   scripts/lint-spec.sh -f json --output.json reports/spectral.json -f stylish
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export SCARF_ANALYTICS=false

pinned="$(node -p 'require("./package.json").devDependencies["@stoplight/spectral-cli"]')"
spectral="node_modules/.bin/spectral"
if [[ ! -x "$spectral" ]] || [[ "$("$spectral" --version 2>/dev/null)" != "$pinned" ]]; then
  echo "lint-spec: installing @stoplight/spectral-cli@$pinned into node_modules (npm ci)" >&2
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2
fi

documents=(openapi/sonarly.yaml)
if [[ -f openapi/mock-control.yaml ]]; then
  documents+=(openapi/mock-control.yaml)
fi

exec "$spectral" lint --ruleset .spectral.yaml --fail-severity error "$@" "${documents[@]}"
