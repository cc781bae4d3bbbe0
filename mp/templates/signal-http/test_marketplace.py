"""Heartbeats and signal writes against a fake marketplace API on loopback: what is sent, with
which token, from the environment or an env file, and that a failing API never fails /infer
nor shows the token in the log."""

import datetime
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

from testsupport import (
    HEARTBEATS,
    HERE,
    MODEL,
    SIGNALS,
    FakeApi,
    ServerProcess,
    clean_environment,
)
from test_server import FEATURES_REQUEST

import marketplace

TOKEN = "sit_test_token_that_must_never_be_logged"


def settings(api, **extra):
    values = {
        "MP_API_URL": api.url,
        "MP_DEPLOYMENT_ID": "dep_000001",
        "MP_DEPLOYMENT_TOKEN": TOKEN,
        "MP_HEARTBEAT_SECONDS": "0.2",
        "MP_SIGNAL_BATCH_SECONDS": "0.05",
    }
    values.update(extra)
    return values


def write_env_file(folder, values, mode=0o600, name="mp.env"):
    path = os.path.join(folder, name)
    with open(path, "w", encoding="utf-8") as file:
        file.write("# written by a test\n\n")
        file.write("".join(f"{key} = {value}\n" for key, value in values.items()))
    os.chmod(path, mode)
    return path


class Reporting(unittest.TestCase):
    def setUp(self):
        self.api = FakeApi()
        self.addCleanup(self.api.close)
        self.folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.folder)

    def start(self, *args, **env):
        server = ServerProcess("--model", MODEL, *args, env=clean_environment(**env))
        self.addCleanup(server.stop)
        return server

    def assert_token_kept_out_of(self, server):
        server.stop()
        self.assertNotIn(TOKEN, server.stderr())
        self.assertNotIn(TOKEN[4:], server.stderr())

    def test_heartbeats_at_start_and_every_period_with_the_token(self):
        server = self.start("--no-env-file", **settings(self.api))
        beats = self.api.wait_for(HEARTBEATS, count=3)
        for headers, body in beats:
            self.assertEqual(headers["Authorization"], f"Bearer {TOKEN}")
            self.assertEqual(headers["Content-Type"], "application/json")
            self.assertEqual(set(body), {"deployment_id", "status", "timestamp"})
            self.assertEqual((body["deployment_id"], body["status"]), ("dep_000001", "ready"))
            sent = datetime.datetime.strptime(body["timestamp"], "%Y-%m-%dT%H:%M:%SZ")
            now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
            self.assertLess(abs((now - sent).total_seconds()), 60, "the wall clock")
        self.assertIn("reporting to", server.stderr())
        self.assert_token_kept_out_of(server)

    def test_every_answer_is_written_as_a_signal(self):
        server = self.start(
            "--no-env-file",
            **settings(self.api, MP_HEARTBEAT_SECONDS="60"),
        )
        status, _, body = server.infer(dict(FEATURES_REQUEST, timestamp="2026-03-02T09:00:00Z"))
        self.assertEqual(status, 200)
        answer = json.loads(body)
        (headers, written), = self.api.wait_for(SIGNALS)
        self.assertEqual(headers["Authorization"], f"Bearer {TOKEN}")
        self.assertEqual(
            written,
            [
                {
                    "symbol": "EURUSD",
                    "timeframe": "1h",
                    "decision": answer["decision"],
                    "confidence": answer["confidence"],
                    "model_version": answer["model_version"],
                    "timestamp": "2026-03-02T09:00:00Z",
                    "rationale": answer["rationale"],
                }
            ],
        )
        server.infer(FEATURES_REQUEST)
        self.api.wait_for(SIGNALS, count=2)
        self.assertEqual(server.request("POST", "/infer", b"nope")[0], 400)
        time.sleep(0.3)
        self.assertEqual(len(self.api.to(SIGNALS)), 2, "a refused request writes nothing")

    def test_answers_close_together_are_written_in_one_array(self):
        server = self.start(
            "--no-env-file",
            **settings(self.api, MP_HEARTBEAT_SECONDS="60", MP_SIGNAL_BATCH_SECONDS="1"),
        )
        for _ in range(5):
            self.assertEqual(server.infer(FEATURES_REQUEST)[0], 200)
        (_, written), = self.api.wait_for(SIGNALS)
        self.assertEqual(len(written), 5, "one write for the five answers")
        time.sleep(1.1)
        self.assertEqual(len(self.api.to(SIGNALS)), 1, "and no other")
        server.stop()

    def test_a_batch_window_out_of_range_is_refused(self):
        for value in ("0", "61", "soon"):
            with self.subTest(value=value):
                with self.assertRaises(marketplace.ConfigError):
                    marketplace.settings(dict(settings(self.api), MP_SIGNAL_BATCH_SECONDS=value))

    def test_the_settings_come_from_an_env_file_and_the_environment_wins(self):
        path = write_env_file(self.folder, settings(self.api, MP_DEPLOYMENT_ID="dep_from_file"))
        server = self.start("--env-file", path)
        (_, body), = self.api.wait_for(HEARTBEATS)
        self.assertEqual(body["deployment_id"], "dep_from_file")
        self.assert_token_kept_out_of(server)
        # Against a fresh API: the first server's last heartbeat may land after its stop.
        self.api = FakeApi()
        self.addCleanup(self.api.close)
        path = write_env_file(self.folder, settings(self.api, MP_DEPLOYMENT_ID="dep_from_file"))
        server = self.start("--env-file", path, MP_DEPLOYMENT_ID="dep_from_env")
        (_, body), = self.api.wait_for(HEARTBEATS)
        self.assertEqual(body["deployment_id"], "dep_from_env")

    def test_mp_env_next_to_the_server_is_read_by_default(self):
        for name in os.listdir(HERE):
            if name.endswith(".py"):
                shutil.copy(os.path.join(HERE, name), self.folder)
        write_env_file(self.folder, settings(self.api, MP_DEPLOYMENT_ID="dep_default_file"))
        script = os.path.join(self.folder, "server.py")
        server = ServerProcess("--model", MODEL, script=script, env=clean_environment())
        self.addCleanup(server.stop)
        (_, body), = self.api.wait_for(HEARTBEATS)
        self.assertEqual(body["deployment_id"], "dep_default_file")

    def test_an_env_file_others_can_read_is_refused(self):
        path = write_env_file(self.folder, settings(self.api), mode=0o644)
        answer = subprocess.run(
            [sys.executable, os.path.join(HERE, "server.py"), "--port", "0", "--env-file", path],
            capture_output=True,
            text=True,
            env=clean_environment(),
            timeout=10,
        )
        self.assertEqual(answer.returncode, 2)
        self.assertEqual(answer.stdout, "", "it never listened")
        self.assertIn("chmod 600", answer.stderr)
        self.assertNotIn(TOKEN, answer.stderr)
        self.assertEqual(self.api.to(HEARTBEATS), [])

    def test_without_a_model_it_reports_pending_and_why(self):
        server = ServerProcess(
            "--model", "/nonexistent/model.json", "--no-env-file", env=clean_environment(**settings(self.api))
        )
        self.addCleanup(server.stop)
        (_, body), = self.api.wait_for(HEARTBEATS)
        self.assertEqual(body["status"], "pending")
        self.assertIn("/nonexistent/model.json", body["message"])

    def test_partial_settings_turn_reporting_off_and_say_which(self):
        server = self.start("--no-env-file", MP_API_URL=self.api.url, MP_DEPLOYMENT_ID="dep_000001")
        self.assertEqual(server.infer(FEATURES_REQUEST)[0], 200)
        time.sleep(0.3)
        self.assertEqual(self.api.requests, [])
        server.stop()
        self.assertIn("MP_DEPLOYMENT_TOKEN not set", server.stderr())


class AFailingApi(unittest.TestCase):
    def check(self, api_url, expected_log):
        server = ServerProcess(
            "--model",
            MODEL,
            "--no-env-file",
            env=clean_environment(
                MP_API_URL=api_url,
                MP_DEPLOYMENT_ID="dep_000001",
                MP_DEPLOYMENT_TOKEN=TOKEN,
                MP_HEARTBEAT_SECONDS="0.2",
                MP_SIGNAL_BATCH_SECONDS="0.05",
            ),
        )
        try:
            started = time.monotonic()
            for _ in range(3):
                self.assertEqual(server.infer(FEATURES_REQUEST)[0], 200)
            self.assertLess(time.monotonic() - started, 2.0, "the writes never hold an answer up")
            deadline = time.monotonic() + 5
            while "not stored" not in server.stderr() and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            server.stop()
        log = server.stderr()
        self.assertIn("heartbeat (ready) not recorded", log)
        self.assertIn("signal EURUSD 1h 1970-01-01T00:00:00Z", log)
        self.assertIn("not stored", log)
        self.assertIn(expected_log, log)
        self.assertNotIn(TOKEN, log)
        self.assertNotIn("Traceback", log)

    def test_a_refusing_api_is_logged_with_its_reason(self):
        api = FakeApi(status=401)
        try:
            self.check(api.url, "HTTP 401 token_inactive")
        finally:
            api.close()

    def test_an_unreachable_api_is_logged(self):
        with socket.socket() as probe:  # a port nobody listens on
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.check(f"http://127.0.0.1:{port}", "unreachable")


if __name__ == "__main__":
    unittest.main()
