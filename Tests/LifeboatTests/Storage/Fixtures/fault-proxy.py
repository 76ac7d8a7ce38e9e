#!/usr/bin/env python3
"""HTTP proxy on 127.0.0.1 that injects S3 faults in front of an S3 server, for tests.

Requests are forwarded byte for byte (request line, headers and body), so SigV4 signatures
made for the proxy's address still verify upstream. The first line on stdout is the port.

Faults, chosen per request:
  503    503 SlowDown with Retry-After (--retry-after seconds)
  500    500 InternalError
  403    403 AccessDenied
  reset  read the request, then reset the connection without a response
  cut    forward, send the status, headers and half the body, then reset the connection
  pass   forward unchanged

--faults lists the faults of the first matching requests in order; --always is the fault of
every matching request after that (default pass). --methods limits both to some verbs.
Each request is appended to --log as "METHOD path fault client-port"; requests on one
kept-alive connection share the client port. With --tls-cert and --tls-key the proxy speaks
HTTPS.
"""

import argparse
import http.client
import os
import signal
import socket
import ssl
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

ERROR_BODIES = {
    503: ("SlowDown", "Please reduce your request rate."),
    500: ("InternalError", "We encountered an internal error. Please try again."),
    403: ("AccessDenied", "Access Denied"),
    502: ("BadGateway", "The proxy has no upstream server."),
}

# Response headers that describe the hop, not the message.
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class FaultPlan:
    def __init__(self, faults, always, methods):
        self.faults = list(faults)
        self.always = always
        self.methods = set(methods)
        self.lock = threading.Lock()

    def next_fault(self, method):
        with self.lock:
            if self.methods and method not in self.methods:
                return "pass"
            if self.faults:
                return self.faults.pop(0)
            return self.always


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fault-proxy"

    def log_message(self, format, *args):
        pass

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionError, OSError):
            self.close_connection = True

    def do_request(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fault = self.server.plan.next_fault(self.command)
        with self.server.log_lock:
            with open(self.server.log_path, "a") as log:
                log.write(f"{self.command} {self.path} {fault} {self.client_address[1]}\n")

        if fault == "reset":
            self.reset()
        elif fault in ("503", "500", "403"):
            self.send_error_document(int(fault))
        elif fault in ("pass", "cut"):
            if self.server.upstream is None:
                self.send_error_document(502)
            else:
                self.forward(body, cut=(fault == "cut"))
        else:
            raise SystemExit(f"unknown fault {fault}")

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_request

    def reset(self):
        """Closes the connection with a TCP reset instead of an orderly shutdown."""
        self.wfile.flush()
        self.connection.setsockopt(
            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def send_error_document(self, status):
        code, message = ERROR_BODIES[status]
        document = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{message}</Message>"
            "<RequestId>FAULTPROXY</RequestId></Error>"
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("x-amz-request-id", "FAULTPROXY")
        if status == 503:
            self.send_header("Retry-After", str(self.server.retry_after))
        self.send_header("Content-Length", str(len(document)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(document)

    def forward(self, body, cut):
        host, port = self.server.upstream
        connection = http.client.HTTPConnection(host, port, timeout=30)
        try:
            connection.putrequest(
                self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                connection.putheader(name, value)
            connection.endheaders(body if body else None)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()

        self.send_response_only(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in HOP_HEADERS:
                self.send_header(name, value)
        if self.command == "HEAD":
            self.send_header("Content-Length", response.getheader("Content-Length", "0"))
        else:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if cut and len(data) > 1:
            self.wfile.write(data[: len(data) // 2])
            self.reset()
            return
        self.wfile.write(data)


def exit_when_stdin_closes():
    """Stops the proxy when the test that started it closes the pipe or dies."""
    while sys.stdin.buffer.read(4096):
        pass
    os._exit(0)


def main():
    # A parent may start us with its signal mask, in which SIGTERM is often blocked.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", help="S3 server URL, e.g. http://127.0.0.1:5055")
    parser.add_argument("--faults", default="", help="comma-separated faults, in order")
    parser.add_argument("--always", default="pass", help="fault once --faults are used up")
    parser.add_argument("--methods", default="", help="comma-separated verbs faults apply to")
    parser.add_argument("--retry-after", type=int, default=1, help="Retry-After of 503, in s")
    parser.add_argument("--log", required=True, help="file that receives one line per request")
    parser.add_argument("--tls-cert", help="PEM certificate to serve HTTPS with")
    parser.add_argument("--tls-key", help="PEM private key of --tls-cert")
    arguments = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if arguments.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(arguments.tls_cert, arguments.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    server.plan = FaultPlan(
        [fault for fault in arguments.faults.split(",") if fault],
        arguments.always,
        [method for method in arguments.methods.split(",") if method],
    )
    server.upstream = None
    if arguments.upstream:
        parts = urlsplit(arguments.upstream)
        server.upstream = (parts.hostname, parts.port or 80)
    server.retry_after = arguments.retry_after
    server.log_path = arguments.log
    server.log_lock = threading.Lock()
    open(arguments.log, "w").close()

    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
