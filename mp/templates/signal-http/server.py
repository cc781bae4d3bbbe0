#!/usr/bin/env python3
"""A model server for the marketplace's model-server contract (`GET /health`, `GET /ready`,
`POST /infer`), serving a model artifact of a training run. Standard library only; Python 3.8
or later.

    python3 server.py --port 8080 --model model.json

Its first line on stdout is `listening on http://HOST:PORT`. With a deployment token (the
env file `mp link-infra` writes, or MP_API_URL, MP_DEPLOYMENT_ID and MP_DEPLOYMENT_TOKEN) it
also sends heartbeats and writes each answer as a signal. See README.md.
"""

import argparse
import os
import signal
import socket
import socketserver
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import inference
import marketplace
import model as models

HERE = os.path.dirname(os.path.abspath(__file__))
# A request body larger than this is refused (413): 21 bars need well under 2 KB.
MAX_BODY = 1 << 20
ROUTES = {"/health": ("GET", "HEAD"), "/ready": ("GET", "HEAD"), "/infer": ("POST",)}
CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    408: "REQUEST_TIMEOUT",
    411: "LENGTH_REQUIRED",
    413: "PAYLOAD_TOO_LARGE",
    414: "URI_TOO_LONG",
    431: "HEADERS_TOO_LARGE",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "NOT_READY",
    505: "HTTP_VERSION_NOT_SUPPORTED",
}


def problem(status, message):
    return {"error": {"code": CODES.get(status, "ERROR"), "message": message}}


class Refused(Exception):
    """An answer other than 200 decided while reading the request."""

    def __init__(self, status, message, close=False):
        super().__init__(message)
        self.status, self.close = status, close


class App:
    """What every request thread shares: the model (read only once loaded) and the reporter."""

    def __init__(self, model, reason, reporter=None, quiet=False):
        self.model, self.reason, self.reporter, self.quiet = model, reason, reporter, quiet

    def status(self):
        """A heartbeat's status: ready with a model, pending (and why) without one."""
        return ("ready", None) if self.model is not None else ("pending", self.reason)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: `mp validate` times 20 requests in a row
    server_version = "signal-http/1"
    timeout = 30  # an idle connection's thread is let go after this many seconds

    def do_GET(self):
        self.dispatch("GET")

    def do_HEAD(self):
        self.dispatch("HEAD")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_OPTIONS(self):
        self.dispatch("OPTIONS")

    @property
    def app(self):
        return self.server.app

    def dispatch(self, method):
        started = time.monotonic()
        path = urlsplit(self.path).path
        headers = {}
        try:
            allowed = ROUTES.get(path)
            if allowed is None:
                self.drain()
                status, payload = 404, problem(404, f"no route {path}")
            elif method not in allowed:
                self.drain()
                headers["Allow"] = ", ".join(allowed)
                status, payload = 405, problem(405, f"{path} takes {' or '.join(allowed)}")
            elif path == "/health":
                status, payload = 200, {"status": "ok"}
            elif path == "/ready":
                if self.app.model is not None:
                    status, payload = 200, {"ready": True}
                else:
                    status, payload = 503, {"ready": False, "reason": self.app.reason}
            else:
                status, payload = self.infer()
        except Refused as refused:
            self.close_connection = self.close_connection or refused.close
            status, payload = refused.status, problem(refused.status, str(refused))
        except Exception:  # a bug, not a bad body: those are all Refused above
            traceback.print_exc(file=sys.stderr)
            self.close_connection = True
            status, payload = 500, problem(500, "the server failed; see its log")
        self.respond(method, status, payload, headers, started)

    def infer(self):
        body = self.body()
        if self.app.model is None:
            raise Refused(503, f"no model loaded: {self.app.reason}")
        try:
            request = inference.parse(body)
            answer = inference.answer(self.app.model, request)
        except inference.BadRequest as error:
            raise Refused(400, str(error)) from None
        if self.app.reporter is not None:
            # The answer as a SignalWrite (its metadata stays out: it is the model's workings).
            written = {"symbol": request["symbol"], "timeframe": request["timeframe"]}
            for name in ("decision", "confidence", "model_version", "timestamp", "rationale"):
                written[name] = answer[name]
            self.app.reporter.submit(written)
        return 200, answer

    def body(self):
        """The request body, whole, or Refused (408 when the client stops sending it)."""
        try:
            return self.read_body()
        except OSError:  # the socket's timeout, or a reset
            raise Refused(408, "the body did not arrive", close=True) from None

    def read_body(self):
        coding = self.headers.get("Transfer-Encoding")
        if coding is not None:
            if coding.strip().lower() != "chunked":
                raise Refused(411, f"Transfer-Encoding {coding} is not read here", close=True)
            return self.chunked_body()
        text = self.headers.get("Content-Length", "0").strip()
        if not (text.isascii() and text.isdigit()):
            raise Refused(400, "Content-Length is not a number of bytes", close=True)
        length = int(text)
        if length > MAX_BODY:
            raise Refused(413, f"the body is over {MAX_BODY} bytes", close=True)
        data = self.rfile.read(length)
        if len(data) < length:
            raise Refused(400, "the body ended before its Content-Length", close=True)
        return data

    def chunked_body(self):
        """A `Transfer-Encoding: chunked` body (some clients stream JSON that way)."""
        parts, size = [], 0
        while True:
            line = self.rfile.readline(1024)
            try:
                length = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise Refused(400, "a chunk size is not hexadecimal", close=True) from None
            if length < 0:
                raise Refused(400, "a chunk size is negative", close=True)
            size += length
            if size > MAX_BODY:
                raise Refused(413, f"the body is over {MAX_BODY} bytes", close=True)
            if length == 0:
                break
            chunk = self.rfile.read(length)
            if len(chunk) < length or self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise Refused(400, "a chunk ended early", close=True)
            parts.append(chunk)
        while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
            pass  # trailer fields, not used
        return b"".join(parts)

    def drain(self):
        """Reads and drops a body this route does not take, so the connection stays usable."""
        try:
            self.body()
        except Refused:
            self.close_connection = True

    def respond(self, method, status, payload, headers, started):
        data = inference.to_json(payload)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(data)
        if not self.app.quiet:
            elapsed = (time.monotonic() - started) * 1000.0
            self.log_message("%s %s %d %.1fms", method, self.path, status, elapsed)

    def send_error(self, code, message=None, explain=None):
        """The errors http.server finds itself (a broken request line, an unknown method, a
        header too large), as JSON like every other answer."""
        self.close_connection = True
        data = inference.to_json(problem(code, message or self.responses.get(code, ("",))[0]))
        self.send_response(code, message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(data)

    def log_request(self, code="-", size="-"):
        pass  # respond() logs each request with its time

    def log_message(self, format, *args):
        sys.stderr.write(f"signal-http: {self.address_string()} {format % args}\n")


class Server(ThreadingHTTPServer):
    daemon_threads = True  # a keep-alive connection never holds up a shutdown

    def __init__(self, address, app):
        self.app = app
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)

    def server_bind(self):
        # HTTPServer.server_bind looks the host's name up (getfqdn), which can take seconds
        # without DNS; the name is not needed.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def arguments(argv):
    parser = argparse.ArgumentParser(description="Serve a signal model for the marketplace.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0: a free one")
    parser.add_argument(
        "--model",
        default=os.path.join(HERE, "model.json"),
        help="the model artifact (default: model.json next to this file)",
    )
    parser.add_argument(
        "--model-version",
        default=os.environ.get("MP_MODEL_VERSION") or None,
        help="the model_version answers and signals carry (default: MP_MODEL_VERSION, else "
        "logreg- and the artifact's SHA-256 prefix)",
    )
    files = parser.add_mutually_exclusive_group()
    files.add_argument(
        "--env-file",
        help="KEY=VALUE file with MP_API_URL, MP_DEPLOYMENT_ID, MP_DEPLOYMENT_TOKEN "
        "(default: mp.env next to this file, when there is one)",
    )
    files.add_argument("--no-env-file", action="store_true", help="read no env file")
    parser.add_argument("--quiet", action="store_true", help="no line per request on stderr")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error("--port must be in 0..65535")
    return args


def main(argv=None):
    args = arguments(argv)
    try:
        model, reason = models.load(args.model, args.model_version), None
    except models.ModelError as error:
        model, reason = None, str(error)
        marketplace.log(f"not ready: {reason}")
    env_file = args.env_file
    default_env_file = os.path.join(HERE, "mp.env")
    if env_file is None and not args.no_env_file and os.path.exists(default_env_file):
        env_file = default_env_file
    try:
        config = marketplace.settings(os.environ, env_file)
    except marketplace.ConfigError as error:
        marketplace.log(str(error))
        return 2
    app = App(model, reason, quiet=args.quiet)
    try:
        server = Server((args.host, args.port), app)
    except (OSError, OverflowError) as error:
        marketplace.log(f"cannot listen on {args.host}:{args.port}: {error}")
        return 2
    if config is not None:
        app.reporter = marketplace.Reporter(config, app.status)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"listening on http://{host}:{server.server_address[1]}", flush=True)

    stopping = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stopping.set())
    serving = threading.Thread(target=server.serve_forever, args=(0.2,), name="http")
    serving.start()
    if app.reporter is not None:
        marketplace.log(f"reporting to {config.api_url} as {config.deployment_id}")
        app.reporter.start()
    while not stopping.wait(1.0):
        pass
    marketplace.log("stopping")
    server.shutdown()
    serving.join()
    server.server_close()
    if app.reporter is not None:
        app.reporter.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
