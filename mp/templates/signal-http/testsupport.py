"""What the tests share: the fixture files, a server.py started as its own process on a free
loopback port, a small HTTP client, and a fake marketplace API that records what it is sent.
Not a test module itself (unittest discovers test_*.py only).
"""

import csv
import datetime
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "testdata")
MODEL = os.path.join(DATA, "model.json")
VALIDATION = os.path.join(DATA, "validation.csv")


def validation_rows():
    """The rows of the round's validation file (a marketref round, see README.md)."""
    with open(VALIDATION, encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def unix_of(timestamp):
    """Unix seconds of a round's `2026-01-01T00:00:00.000Z`."""
    at = datetime.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%S.%fZ")
    return int(at.replace(tzinfo=datetime.timezone.utc).timestamp())


def bars_of(symbol):
    """The validation file's bars of `symbol`, oldest first, as `ohlcv` rows
    `[unix, open, high, low, close, volume]`, with the file's rows beside them."""
    rows = [row for row in validation_rows() if row["symbol"] == symbol]
    bars = [
        [unix_of(row["timestamp"])] + [float(row[k]) for k in ("open", "high", "low", "close", "volume")]
        for row in rows
    ]
    return bars, rows


def clean_environment(**extra):
    """This process's environment without MP_* settings or proxies (the tests talk to
    loopback only, and never to a marketplace a developer's shell points at)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("MP_") and "proxy" not in name.lower()
    }
    env.update(extra)
    return env


class ServerProcess:
    """`python3 server.py --port 0 ARGS...`, its port read from its first stdout line."""

    def __init__(self, *args, env=None, script=os.path.join(HERE, "server.py")):
        self.stderr_file = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, script, "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=self.stderr_file,
            text=True,
            env=env if env is not None else clean_environment(),
        )
        self.first_line = self._first_line(timeout=10.0)
        match = re.fullmatch(r"listening on http://127\.0\.0\.1:([0-9]+)", self.first_line)
        if match is None:
            self.stop()
            raise AssertionError(f"first line {self.first_line!r}; stderr: {self.stderr()}")
        self.port = int(match.group(1))

    def _first_line(self, timeout):
        lines = []
        reader = threading.Thread(target=lambda: lines.append(self.process.stdout.readline()))
        reader.daemon = True
        reader.start()
        reader.join(timeout)
        return lines[0].rstrip("\n") if lines else ""

    def request(self, method, path, body=None, headers=None):
        return request(self.port, method, path, body, headers)

    def infer(self, document):
        return self.request("POST", "/infer", json.dumps(document).encode())

    def stderr(self):
        """What it wrote to stderr so far (all of it once stopped)."""
        if self.stderr_file.closed:
            return self.stderr_text
        self.stderr_file.seek(0)
        return self.stderr_file.read()

    def stop(self, signal_number=None):
        """Stops it (SIGTERM by default) and answers its exit code."""
        if self.process.poll() is None:
            if signal_number is None:
                self.process.terminate()
            else:
                self.process.send_signal(signal_number)
        try:
            code = self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.process.stdout.close()
        if not self.stderr_file.closed:
            self.stderr_text = self.stderr()
            self.stderr_file.close()
        return code


def request(port, method, path, body=None, headers=None, connection=None):
    """`(status, headers, body bytes)` of one request."""
    own = connection is None
    connection = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, dict(answer.getheaders()), answer.read()
    finally:
        if own:
            connection.close()


class FakeApi:
    """A marketplace API on a loopback port that answers every POST with a success envelope
    (or `status` with an error envelope) and records `(path, headers, body)` of each."""

    def __init__(self, status=200):
        self.status = status
        self.requests = []
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length).decode())
                with api.lock:
                    api.requests.append((self.path, dict(self.headers), body))
                if api.status == 200:
                    answer = {"success": True, "data": {"ok": True}}
                else:
                    answer = {
                        "success": False,
                        "error": {
                            "code": "UNAUTHORIZED",
                            "message": "The token is no longer active.",
                            "details": {"reason_code": "token_inactive"},
                        },
                    }
                data = json.dumps(answer).encode()
                self.send_response(api.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,))
        self.thread.daemon = True
        self.thread.start()

    def to(self, path):
        with self.lock:
            return [(headers, body) for p, headers, body in self.requests if p == path]

    def wait_for(self, path, count=1, timeout=5.0):
        """The first `count` requests to `path`, waiting for them up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.to(path)
            if len(found) >= count:
                return found[:count]
            time.sleep(0.02)
        raise AssertionError(f"{len(self.to(path))} requests to {path}, not {count}")

    def close(self):
        self.server.shutdown()
        self.server.server_close()


HEARTBEATS = "/api/marketplace/vendor/heartbeats"
SIGNALS = "/api/signals/store"
