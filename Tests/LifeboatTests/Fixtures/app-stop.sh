#!/bin/sh
# Stop command of the fake application: app-stop.sh STATE_DIR
# Records each call in STATE_DIR/calls. The file STATE_DIR/fail-stop makes every call fail.
state=$1
echo "stop ${LIFEBOAT_RESTORE_PHASE:-manual}" >> "$state/calls"
if [ -e "$state/fail-stop" ]; then
  echo "stop refused: $state/fail-stop is set" >&2
  exit 1
fi
if [ ! -s "$state/app.pid" ]; then
  echo "not running"
  exit 0
fi
pid=$(cat "$state/app.pid")
kill "$pid" 2>/dev/null
# Wait until the process is gone. An orphan that no process reaps stays a zombie, which has no
# open files, so the zombie state counts as stopped.
tries=0
while [ -e "/proc/$pid" ] && [ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" != "Z" ]; do
  tries=$((tries + 1))
  if [ "$tries" -gt 100 ]; then
    echo "pid $pid did not exit within 10 s" >&2
    exit 1
  fi
  sleep 0.1
done
rm -f "$state/app.pid"
echo "stopped pid $pid"
