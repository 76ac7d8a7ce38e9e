#!/usr/bin/env python3
"""A stand-in for the application that lifeboat restores in place.

    fake-app.py --db PATH --port N --state DIR

It keeps the SQLite database open for as long as it runs, as a real application would, and
serves GET /health on 127.0.0.1:N:
  200 {"status": "ok", "tables": N}   a query on the database succeeded
  200 {"status": "unhealthy"}         the file DIR/unhealthy exists
  500 {"status": "error", ...}        the query failed
Standard library only.
"""
import argparse
import http.server
import json
import os
import sqlite3
import threading


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state", required=True)
    args = parser.parse_args()

    # Opened once and held: the descriptor is what an in-place restore must not swap under.
    connection = sqlite3.connect(args.db, check_same_thread=False)
    connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    lock = threading.Lock()
    unhealthy_flag = os.path.join(args.state, "unhealthy")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path != "/health":
                self.reply(404, {"status": "error", "error": "not found"})
                return
            if os.path.exists(unhealthy_flag):
                self.reply(200, {"status": "unhealthy"})
                return
            try:
                with lock:
                    tables = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            except sqlite3.Error as error:
                self.reply(500, {"status": "error", "error": str(error)})
                return
            self.reply(200, {"status": "ok", "tables": tables})

        def reply(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"fake-app pid {os.getpid()} serving 127.0.0.1:{args.port} with {args.db}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
