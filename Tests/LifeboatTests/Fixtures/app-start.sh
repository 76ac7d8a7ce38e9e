#!/bin/sh
# Start command of the fake application: app-start.sh STATE_DIR DATABASE PORT
# Records each call in STATE_DIR/calls. The file STATE_DIR/fail-start-once makes the next call
# fail (and is removed), so a rollback's own start succeeds; STATE_DIR/fail-start makes every
# call fail.
state=$1
database=$2
port=$3
echo "start ${LIFEBOAT_RESTORE_PHASE:-manual}" >> "$state/calls"
if [ -e "$state/fail-start" ]; then
  echo "start refused: $state/fail-start is set" >&2
  exit 1
fi
if [ -e "$state/fail-start-once" ]; then
  rm -f "$state/fail-start-once"
  echo "start refused: $state/fail-start-once was set" >&2
  exit 1
fi
pid=$(cat "$state/app.pid" 2>/dev/null)
# A zombie (an orphan that no process reaped) is not running.
if [ -n "$pid" ] && [ -e "/proc/$pid" ] && [ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" != "Z" ]; then
  echo "already running as pid $pid"
  exit 0
fi
# The daemon's output goes to a file: lifeboat stops reading the hook's output once it exits.
python3 "$(dirname "$0")/fake-app.py" --db "$database" --port "$port" --state "$state" \
  >> "$state/app.out" 2>&1 < /dev/null &
echo $! > "$state/app.pid"
echo "started pid $!"
