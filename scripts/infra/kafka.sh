#!/usr/bin/env bash
# Starts a real single-node Kafka broker (KRaft) in the foreground, the way the tests do.
#   scripts/infra/kafka.sh [--port 9092] [--data-dir DIR]
# Default port: 9092 when free, else a free one. Prints KAFKA_BROKERS=host:port. Ctrl-C stops it.
# Needs java (17+), mvn and node on PATH; the first run resolves the jars into ~/.m2.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec node "$here/../../test/support/infra/infra-cli.mjs" kafka "$@"
