#!/usr/bin/env bash
# Starts a real Confluent-compatible schema registry (Apicurio Registry, in-memory) in the
# foreground, the way the tests do.
#   scripts/infra/schema-registry.sh [--port 8081]
# Default port: 8081 when free, else a free one. Prints SCHEMA_REGISTRY_URL=.../apis/ccompat/v7.
# Ctrl-C stops it. Needs java (17+), mvn and node on PATH; the first run unpacks it into .cache/infra/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec node "$here/../../test/support/infra/infra-cli.mjs" schema-registry "$@"
