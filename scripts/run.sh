#!/usr/bin/env bash
# `make run`: migrate, seed the demo, serve on ORCHJOBS_HOST:ORCHJOBS_PORT and, unless ORCHJOBS_DEMO=0, run a
# reference orchestrator beside the server with its stores in ORCHJOBS_DEMO_DIR. The first Ctrl-C or SIGTERM stops
# both and waits for them (a process still running after ORCHJOBS_STOP_SECONDS is killed).
set -euo pipefail

BIN=${BIN:-.venv/bin}
HOST=${ORCHJOBS_HOST:-127.0.0.1}
PORT=${ORCHJOBS_PORT:-8080}
DEMO_DIR=${ORCHJOBS_DEMO_DIR:-./demo-stores}
STOP_SECONDS=${ORCHJOBS_STOP_SECONDS:-10}
export ORCHJOBS_BOOTSTRAP_ADMIN=${ORCHJOBS_BOOTSTRAP_ADMIN:-admin:orchjobs-admin}

# Where a client reaches the server: a wildcard listening address is reached on loopback.
case $HOST in
    0.0.0.0 | '') CONNECT=127.0.0.1 ;;
    :: | '[::]') CONNECT='[::1]' ;;
    \[*) CONNECT=$HOST ;;
    *:*) CONNECT="[$HOST]" ;;
    *) CONNECT=$HOST ;;
esac
BASE="http://$CONNECT:$PORT"

"$BIN/orchjobs" migrate
"$BIN/orchjobs" seed --demo --demo-store-dir "$DEMO_DIR"

pids=()
stop() {
    trap - INT TERM EXIT
    [ ${#pids[@]} -eq 0 ] && return
    kill -TERM "${pids[@]}" 2>/dev/null || true
    local deadline=$((SECONDS + STOP_SECONDS)) pid alive
    while :; do
        alive=0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ $alive -eq 0 ] || [ $SECONDS -ge $deadline ] && break
        sleep 0.1
    done
    kill -KILL "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap 'echo "Stopping." >&2; stop; exit 130' INT
trap 'echo "Stopping." >&2; stop; exit 143' TERM
trap stop EXIT

"$BIN/orchjobs" serve --host "$HOST" --port "$PORT" &
server=$!
pids+=("$server")

if [ "${ORCHJOBS_DEMO:-1}" != "0" ]; then
    until curl -s -o /dev/null "$BASE/docs"; do
        if ! kill -0 "$server" 2>/dev/null; then
            echo "The server stopped before it answered on $BASE." >&2
            exit 1
        fi
        sleep 0.2
    done
    ORCHJOBS_ORCHESTRATOR_POLL_SECONDS=${ORCHJOBS_ORCHESTRATOR_POLL_SECONDS:-20} "$BIN/orchjobs" orchestrator \
        --url "$BASE/KeyfactorAgents" --name demo-orchestrator --store-dir "$DEMO_DIR" \
        --username "${ORCHJOBS_BOOTSTRAP_ADMIN%%:*}" --password "${ORCHJOBS_BOOTSTRAP_ADMIN#*:}" \
        --capability DiskUsage=orchjobs.orchestrator.examples:disk_usage &
    pids+=("$!")
fi

# Returns when the server stops by itself, or at once when a signal arrives (its trap runs).
wait "$server"
