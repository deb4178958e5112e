#!/usr/bin/env bash
# Regenerate sdk/slimline_api from openapi/openapi.json with openapi-python-client (pinned in the
# project's test extra). Usage: sdk/generate.sh [OUTPUT_DIR]   (default: sdk/slimline_api)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$(dirname "$(command -v python)")"
out="${1:-$here/slimline_api}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# ruff (the generator's formatter) must be on PATH for byte-identical output
PATH="$bin:$PATH" openapi-python-client generate --path "$here/../openapi/openapi.json" \
  --config "$here/config.yml" --meta none --output-path "$tmp/slimline_api" >/dev/null
find "$tmp/slimline_api" -name .ruff_cache -prune -exec rm -rf {} +
rm -rf "$out"
mv "$tmp/slimline_api" "$out"
