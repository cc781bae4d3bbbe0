"""Talking to the marketplace as a deployment: heartbeats every few seconds and every answer
written as a signal, with the deployment's token (`mp deploy --env-file` or `mp link-infra`
write it). All of it in background threads: a slow or unreachable API never slows or fails
`/infer`; what goes wrong is logged to stderr, never with the token.
"""

import datetime
import http.client
import json
import os
import queue
import stat
import sys
import threading
import time
import urllib.error
import urllib.request

API_URL, DEPLOYMENT_ID, TOKEN = "MP_API_URL", "MP_DEPLOYMENT_ID", "MP_DEPLOYMENT_TOKEN"
HEARTBEAT_SECONDS = "MP_HEARTBEAT_SECONDS"
DEFAULT_HEARTBEAT_SECONDS = 30.0
# Signals waiting to be written; past this many, new ones are dropped (and logged).
QUEUE_LIMIT = 1000
# A write carries what came within this long of its first signal, at most BATCH_LIMIT (what
# POST /api/signals/store takes in one array): at most 30 writes a minute, which with the
# heartbeats stays inside the deployment's 60 writes a minute however busy the server is.
SIGNAL_BATCH_SECONDS = "MP_SIGNAL_BATCH_SECONDS"
DEFAULT_SIGNAL_BATCH_SECONDS = 2.0
BATCH_LIMIT = 500
TIMEOUT_SECONDS = 10.0


class ConfigError(Exception):
    """Settings the server refuses to start with."""


def log(message):
    print(f"signal-http: {message}", file=sys.stderr, flush=True)


def read_env_file(path):
    """`KEY=VALUE` lines as `mp` reads them (trimmed; blank lines and `#` comments skipped),
    refused when others than its owner may read it: it holds a token."""
    try:
        mode = os.stat(path).st_mode
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"reading {path}: {error}") from None
    if stat.S_IMODE(mode) & 0o077:
        raise ConfigError(
            f"{path} can be read by others (mode {stat.S_IMODE(mode):o}); run `chmod 600 {path}`"
        )
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, value = line.split("=", 1)
        values[name.strip()] = value.strip()
    return values


class Settings:
    """Where to report and as whom. The token is kept out of repr() and every message."""

    def __init__(self, api_url, deployment_id, token, heartbeat_seconds,
                 batch_seconds=DEFAULT_SIGNAL_BATCH_SECONDS):
        self.api_url = api_url.rstrip("/")
        self.deployment_id = deployment_id
        self.token = token
        self.heartbeat_seconds = heartbeat_seconds
        self.batch_seconds = batch_seconds

    def __repr__(self):
        return f"Settings({self.api_url!r}, {self.deployment_id!r}, token=<hidden>)"


def settings(environ, env_file=None):
    """The Settings from the environment, then the env file for what it does not set; None
    (reporting off, with a line saying why) when the three names are not all there."""
    file = read_env_file(env_file) if env_file is not None else {}

    def setting(name):
        return environ.get(name) or file.get(name) or None

    found = {name: setting(name) for name in (API_URL, DEPLOYMENT_ID, TOKEN)}
    missing = [name for name, value in found.items() if value is None]
    if len(missing) == 3:
        log("not reporting to the marketplace (no MP_API_URL, MP_DEPLOYMENT_ID, MP_DEPLOYMENT_TOKEN)")
        return None
    if missing:
        log(f"not reporting to the marketplace: {', '.join(missing)} not set")
        return None
    if not found[API_URL].startswith(("http://", "https://")):
        raise ConfigError(f"{API_URL} must be an http:// or https:// URL")
    def seconds(name, default, low, high):
        value = setting(name)
        try:
            value = default if value is None else float(value)
        except ValueError:
            value = -1.0
        if not low <= value <= high:
            raise ConfigError(f"{name} must be a number of seconds in {low:g}..{high:g}")
        return value

    heartbeat = seconds(HEARTBEAT_SECONDS, DEFAULT_HEARTBEAT_SECONDS, 0.05, 3600.0)
    batch = seconds(SIGNAL_BATCH_SECONDS, DEFAULT_SIGNAL_BATCH_SECONDS, 0.01, 60.0)
    return Settings(found[API_URL], found[DEPLOYMENT_ID], found[TOKEN], heartbeat, batch)


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _refusal(error):
    """`HTTP 401 token_inactive: ...` from an error answer's envelope, as far as it has one."""
    try:
        envelope = json.loads(error.read().decode("utf-8"))
        problem = envelope["error"]
        reason = problem.get("details", {}).get("reason_code") or problem.get("code")
        return f"HTTP {error.code} {reason}: {problem.get('message', '')}".rstrip(": ")
    except Exception:  # any body at all: this only words a log line
        return f"HTTP {error.code}"


class Reporter:
    """The heartbeat thread and the signal writer thread of one deployment."""

    def __init__(self, config, status):
        """`status()` answers `(status, message)` for a heartbeat: `("ready", None)`, or
        `("pending", why)` while the server cannot answer /infer."""
        self.config = config
        self.status = status
        self._stop = threading.Event()
        self._signals = queue.Queue(maxsize=QUEUE_LIMIT)
        self._threads = [
            threading.Thread(target=self._heartbeats, name="heartbeats", daemon=True),
            threading.Thread(target=self._writer, name="signals", daemon=True),
        ]

    def start(self):
        for thread in self._threads:
            thread.start()

    def stop(self, timeout=5.0):
        self._stop.set()
        try:
            self._signals.put_nowait(None)
        except queue.Full:
            pass
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout)

    def submit(self, signal):
        """Queues one signal (a SignalWrite dict) to be written; never blocks."""
        try:
            self._signals.put_nowait(signal)
        except queue.Full:
            log(f"signal dropped: {QUEUE_LIMIT} signals are already waiting to be written")

    def post(self, path, body):
        """POSTs `body` as JSON with the token; True on a `{"success": true}` answer."""
        request = urllib.request.Request(
            self.config.api_url + path,
            data=json.dumps(body).encode("utf-8"),
            method="POST",
            headers={
                "Authorization": f"Bearer {self.config.token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": "mp-signal-http/1",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
                envelope = json.loads(answer.read().decode("utf-8"))
            if isinstance(envelope, dict) and envelope.get("success") is True:
                return True, None
            return False, f"HTTP {answer.status} without a success envelope"
        except urllib.error.HTTPError as error:
            return False, _refusal(error)
        except urllib.error.URLError as error:
            return False, f"unreachable ({error.reason})"
        except (OSError, ValueError, http.client.HTTPException) as error:
            # Timeouts, resets, a broken answer, one that is not JSON.
            return False, type(error).__name__ + (f" ({error})" if str(error) else "")

    def heartbeat(self):
        status, message = self.status()
        body = {
            "deployment_id": self.config.deployment_id,
            "status": status,
            "timestamp": now_rfc3339(),
        }
        if message:
            body["message"] = message[:500]
        ok, problem = self.post("/api/marketplace/vendor/heartbeats", body)
        if not ok:
            log(f"heartbeat ({status}) not recorded: {problem}")
        return ok

    def _heartbeats(self):
        # One at once, so the deployment reads as up from its start, then one a period.
        while True:
            self.heartbeat()
            if self._stop.wait(self.config.heartbeat_seconds):
                return

    def _writer(self):
        while True:
            first = self._signals.get()
            if first is None:
                return
            batch, stopping = [first], False
            deadline = time.monotonic() + self.config.batch_seconds
            while len(batch) < BATCH_LIMIT:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    signal = self._signals.get(timeout=remaining)
                except queue.Empty:
                    break
                if signal is None:
                    stopping = True
                    break
                batch.append(signal)
            ok, problem = self.post("/api/signals/store", batch)
            if not ok:
                which = f"{first['symbol']} {first['timeframe']} {first['timestamp']}"
                more = f" and {len(batch) - 1} more" if len(batch) > 1 else ""
                log(f"signal {which}{more} not stored: {problem}")
            if stopping:
                return
