#!/usr/bin/env bash
# Longer schemathesis run against a live fubble server: every check, every phase, several seeds.
#
#   scripts/schemathesis.sh [SEED ...]          (default seeds: 1 2 3)
#
# For each seed: a fresh SQLite database (or FUBBLE_DATABASE_URL, emptied by you beforehand), `fubble serve
# --no-auth` on 127.0.0.1:$PORT (default 8123), then
#   schemathesis run http://127.0.0.1:$PORT/openapi.json --checks all \
#       --phases examples,coverage,fuzzing,stateful --seed SEED --max-examples $MAX_EXAMPLES (default 100)
# with its report in $OUT (default ./schemathesis-report): seed-N.txt (the CLI's output) and seed-N.ndjson. It prints
# each seed's summary line and exits non-zero if any seed found a failure.
#
# scripts/schemathesis.toml is its configuration: stateful testing follows the declared OpenAPI links only.
# Authentication is off (loopback only) so that generated requests are not refused for want of a key, and so that
# revoking keys (DELETE /api-keys/{key_id}) cannot lock the run out; the OpenAPI document then declares no key.
# The same checks run in CI at one seed and few examples: tests/fuzz/test_schemathesis_all_checks.py. Both load
# tests/fuzz/hooks.py (here through SCHEMATHESIS_HOOKS): the rules JSON Schema cannot state (between two fields,
# between the query and the body, against stored state), taught to the generator of positive cases only.
#
# Environment: PORT, MAX_EXAMPLES, OUT, FUBBLE_DATABASE_URL, PYTHON (default .venv/bin/python), SCHEMATHESIS
# (default .venv/bin/schemathesis). Run from the repository's root; takes one to four minutes per seed.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
PORT=${PORT:-8123}
MAX_EXAMPLES=${MAX_EXAMPLES:-100}
OUT=$(realpath -m "${OUT:-schemathesis-report}")
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
SCHEMATHESIS=${SCHEMATHESIS:-$ROOT/.venv/bin/schemathesis}
SEEDS=("$@")
[ ${#SEEDS[@]} -eq 0 ] && SEEDS=(1 2 3)
mkdir -p "$OUT"
WORK=$(mktemp -d)
SERVER=""

stop_server() {
    if [ -n "$SERVER" ] && kill -0 "$SERVER" 2>/dev/null; then
        kill "$SERVER" && wait "$SERVER" 2>/dev/null || true
    fi
    SERVER=""
}
trap 'stop_server; rm -rf "$WORK"' EXIT

status=0
for seed in "${SEEDS[@]}"; do
    url=${FUBBLE_DATABASE_URL:-sqlite:///$WORK/seed-$seed.db}
    FUBBLE_DATABASE_URL=$url "$PYTHON" -m fubble db upgrade >/dev/null
    FUBBLE_DATABASE_URL=$url "$PYTHON" -m fubble serve --no-auth --host 127.0.0.1 --port "$PORT" \
        >"$OUT/server-$seed.log" 2>&1 &
    SERVER=$!
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break
        sleep 0.1
    done
    # schemathesis keeps a cache in the working directory: run it in the scratch directory.
    if (cd "$WORK" && PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" SCHEMATHESIS_HOOKS=tests.fuzz.hooks \
        "$SCHEMATHESIS" --config-file "$ROOT/scripts/schemathesis.toml" run "http://127.0.0.1:$PORT/openapi.json" --checks all \
        --phases examples,coverage,fuzzing,stateful --seed "$seed" --max-examples "$MAX_EXAMPLES" --workers 1 \
        --report ndjson --report-ndjson-path "$OUT/seed-$seed.ndjson" >"$OUT/seed-$seed.txt" 2>&1); then
        :
    else
        status=1
    fi
    echo "seed $seed: $(grep -E '^=+ .* in [0-9.]+s' "$OUT/seed-$seed.txt" | tr -d '=' | xargs)"
    stop_server
done
echo "reports in $OUT"
exit $status
