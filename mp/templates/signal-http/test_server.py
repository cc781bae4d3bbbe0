"""server.py as a process on a free loopback port: its first line, every endpoint, the
refusals, the same bytes for the same request, readiness without a model, and its shutdown."""

import hashlib
import http.client
import json
import signal
import time
import unittest

import model as models
from features import FEATURES, last_bar_features
from testsupport import MODEL, ServerProcess, bars_of, request
from test_features import RETURN_TOLERANCE, RSI_TOLERANCE

FEATURES_REQUEST = {
    "symbol": "EURUSD",
    "timeframe": "1h",
    "features": {"ret_1": 0.001, "ret_5": 0.002, "ret_20": -0.01, "vol_20": 0.004, "rsi_14": 0.6},
}


def as_json(body):
    return json.loads(body.decode("utf-8"))


class WithAModel(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = ServerProcess("--model", MODEL, "--no-env-file")
        cls.model = models.load(MODEL)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def assert_json_answer(self, status, headers, expected_status):
        self.assertEqual(status, expected_status)
        self.assertEqual(headers["Content-Type"], "application/json")

    def test_the_first_line_names_the_bound_port(self):
        self.assertEqual(self.server.first_line, f"listening on http://127.0.0.1:{self.server.port}")
        self.assertGreater(self.server.port, 0)

    def test_health_and_ready(self):
        status, headers, body = self.server.request("GET", "/health")
        self.assert_json_answer(status, headers, 200)
        self.assertEqual(as_json(body), {"status": "ok"})
        status, headers, body = self.server.request("GET", "/ready")
        self.assert_json_answer(status, headers, 200)
        self.assertEqual(as_json(body), {"ready": True})
        status, headers, body = self.server.request("HEAD", "/health")
        self.assertEqual((status, body), (200, b""))

    def test_infer_from_features(self):
        status, headers, body = self.server.infer(FEATURES_REQUEST)
        self.assert_json_answer(status, headers, 200)
        answer = as_json(body)
        row = [FEATURES_REQUEST["features"][name] for name in FEATURES]
        p = self.model.predict(row)
        self.assertEqual(answer["metadata"]["p_up"], p)
        self.assertEqual((answer["decision"], answer["confidence"]), self.model.decide(p))
        with open(MODEL, "rb") as file:
            digest = hashlib.sha256(file.read()).hexdigest()
        self.assertEqual(answer["model_version"], "logreg-" + digest[:12])
        self.assertEqual(answer["timestamp"], "1970-01-01T00:00:00Z", "never the clock")
        self.assertEqual(answer["metadata"]["features"], FEATURES_REQUEST["features"])
        self.assertTrue(answer["rationale"][0].startswith(f"p(up)={p:.4f}"))
        stamped = dict(FEATURES_REQUEST, timestamp="2026-03-01T10:30:00+01:00")
        self.assertEqual(as_json(self.server.infer(stamped)[2])["timestamp"], "2026-03-01T09:30:00Z")

    def test_infer_from_bars_computes_the_rounds_features(self):
        bars, rows = bars_of("GBPUSD")
        for end in (21, 40, len(bars)):
            status, _, body = self.server.infer({"symbol": "GBPUSD", "timeframe": "1h", "ohlcv": bars[:end]})
            self.assertEqual(status, 200, body)
            answer = as_json(body)
            closes = [bar[4] for bar in bars[:end]]
            computed = last_bar_features(closes)
            self.assertEqual([answer["metadata"]["features"][n] for n in FEATURES], computed)
            # Against the round's own columns, which it computed from the same closes before
            # they were printed with 6 decimals: equal within that rounding (test_features).
            last = rows[end - 1]
            for name, value in zip(FEATURES, computed):
                tolerance = RSI_TOLERANCE if name == "rsi_14" else RETURN_TOLERANCE
                self.assertLessEqual(abs(value - float(last[name])), tolerance, name)
            self.assertEqual(answer["timestamp"], last["timestamp"].replace(".000Z", "Z"))
            p = self.model.predict(computed)
            self.assertEqual((answer["decision"], answer["confidence"]), self.model.decide(p))

    def test_the_same_request_gets_the_same_bytes(self):
        bars, _ = bars_of("EURUSD")
        document = {"symbol": "EURUSD", "timeframe": "1h", "ohlcv": bars[-30:]}
        bodies = {self.server.infer(document)[2] for _ in range(3)}
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        try:
            for _ in range(3):  # on one kept-alive connection too
                body = json.dumps(document).encode()
                bodies.add(request(self.server.port, "POST", "/infer", body, connection=connection)[2])
        finally:
            connection.close()
        self.assertEqual(len(bodies), 1, bodies)
        self.assertIn(b'"decision"', bodies.pop())

    def test_bad_bodies_are_400_never_500(self):
        bars, _ = bars_of("EURUSD")
        base = {"symbol": "EURUSD", "timeframe": "1h"}

        def with_bars(change):
            changed = [list(bar) for bar in bars[:21]]
            change(changed)
            return json.dumps(dict(base, ohlcv=changed)).encode()

        def set_at(i, j, value):
            def change(changed):
                changed[i][j] = value
            return change

        def with_features(**replaced):
            features = dict(FEATURES_REQUEST["features"], **replaced)
            kept = {k: v for k, v in features.items() if v != "drop"}
            return json.dumps(dict(base, features=kept)).encode()

        bodies = {
            "empty": b"",
            "not json": b"{symbol: EURUSD",
            "not utf-8": b'{"symbol": "\xff"}',
            "an array": b"[]",
            "a string": b'"EURUSD"',
            "null": b"null",
            "no symbol": json.dumps({"timeframe": "1h", "features": FEATURES_REQUEST["features"]}).encode(),
            "lower-case symbol": json.dumps(dict(FEATURES_REQUEST, symbol="eurusd")).encode(),
            "long symbol": json.dumps(dict(FEATURES_REQUEST, symbol="A" * 21)).encode(),
            "bad timeframe": json.dumps(dict(FEATURES_REQUEST, timeframe="2h")).encode(),
            "neither bars nor features": json.dumps(base).encode(),
            "20 bars": json.dumps(dict(base, ohlcv=bars[:20])).encode(),
            "ohlcv not a list": json.dumps(dict(base, ohlcv={"close": 1})).encode(),
            "a bar of 5": with_bars(lambda b: b[3].pop()),
            "a bar not a list": with_bars(lambda b: b.__setitem__(4, 1.0)),
            "a string price": with_bars(set_at(7, 4, "1.2")),
            "a bool price": with_bars(set_at(7, 4, True)),
            "a null volume": with_bars(set_at(7, 5, None)),
            "a zero close": with_bars(set_at(7, 4, 0)),
            "a negative low": with_bars(set_at(7, 3, -1.0)),
            "a fractional time": with_bars(set_at(20, 0, bars[20][0] + 0.5)),
            "bars newest first": with_bars(lambda b: b.reverse()),
            "a repeated time": with_bars(set_at(5, 0, bars[4][0])),
            "a time out of range": with_bars(set_at(20, 0, 1e18)),
            "NaN": with_bars(set_at(7, 4, "NAN")).replace(b'"NAN"', b"NaN"),
            "Infinity": with_bars(set_at(7, 4, "INF")).replace(b'"INF"', b"Infinity"),
            "1e400": with_bars(set_at(7, 4, "BIG")).replace(b'"BIG"', b"1e400"),
            "a 5000 digit integer": with_bars(set_at(7, 4, "BIG")).replace(b'"BIG"', b"9" * 5000),
            "prices that overflow": with_bars(
                lambda b: [bar.__setitem__(4, 1e-300 if i % 2 else 1e300) for i, bar in enumerate(b)]
            ),
            "features not an object": json.dumps(dict(base, features=[0.1] * 5)).encode(),
            "a feature missing": with_features(rsi_14="drop"),
            "a string feature": with_features(ret_5="0.1"),
            "features that overflow": with_features(ret_1=1e308, ret_5=-1e308),
            "a bad timestamp": json.dumps(dict(FEATURES_REQUEST, timestamp="yesterday")).encode(),
            "a timestamp not a string": json.dumps(dict(FEATURES_REQUEST, timestamp=1767225600)).encode(),
            "an impossible date": json.dumps(
                dict(FEATURES_REQUEST, timestamp="2026-02-30T00:00:00Z")
            ).encode(),
            "deep nesting": b"[" * 100000 + b"]" * 100000,
        }
        for name, body in bodies.items():
            status, headers, answer = self.server.request("POST", "/infer", body)
            self.assertEqual(status, 400, f"{name}: {answer[:200]!r}")
            error = as_json(answer)["error"]
            self.assertEqual(error["code"], "BAD_REQUEST", name)
            self.assertTrue(error["message"], name)
        self.assertNotIn("Traceback", self.server.stderr())

    def test_unknown_paths_and_wrong_methods(self):
        for method, path, status in [
            ("GET", "/nope", 404),
            ("POST", "/infer/x", 404),
            ("GET", "/infer", 405),
            ("POST", "/health", 405),
            ("DELETE", "/ready", 405),
            ("PUT", "/infer", 405),
        ]:
            got, headers, body = self.server.request(method, path, b"{}")
            self.assertEqual(got, status, (method, path))
            self.assertEqual(
                as_json(body)["error"]["code"], "NOT_FOUND" if status == 404 else "METHOD_NOT_ALLOWED"
            )
            if status == 405:
                self.assertIn("Allow", headers)
        status, _, body = self.server.request("GET", "/health?probe=1")
        self.assertEqual((status, as_json(body)), (200, {"status": "ok"}))

    def test_a_refused_body_leaves_the_connection_usable(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        try:
            status, _, _ = request(self.server.port, "POST", "/health", b'{"x": 1}', connection=connection)
            self.assertEqual(status, 405)
            status, _, body = request(self.server.port, "GET", "/health", connection=connection)
            self.assertEqual((status, as_json(body)), (200, {"status": "ok"}))
        finally:
            connection.close()

    def test_oversized_and_chunked_bodies(self):
        # Announced, not sent: the server answers from the header without reading the body.
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        try:
            connection.putrequest("POST", "/infer")
            connection.putheader("Content-Length", str((1 << 20) + 1))
            connection.endheaders()
            answer = connection.getresponse()
            self.assertEqual(answer.status, 413)
            self.assertEqual(as_json(answer.read())["error"]["code"], "PAYLOAD_TOO_LARGE")
        finally:
            connection.close()
        # A chunked body is read like any other, and held to the same limit.
        whole = json.dumps(FEATURES_REQUEST).encode()
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        try:
            pieces = iter([whole[:10], whole[10:]])
            connection.request("POST", "/infer", body=pieces, encode_chunked=True)
            answer = connection.getresponse()
            self.assertEqual((answer.status, answer.read()), (200, self.server.infer(FEATURES_REQUEST)[2]))
            connection.putrequest("POST", "/infer")
            connection.putheader("Transfer-Encoding", "chunked")
            connection.endheaders()
            connection.send(b"%x\r\n" % ((1 << 20) + 1))
            answer = connection.getresponse()
            self.assertEqual(answer.status, 413)
        finally:
            connection.close()

    def test_answers_are_quick(self):
        started = time.monotonic()
        for _ in range(20):
            self.assertEqual(self.server.infer(FEATURES_REQUEST)[0], 200)
        self.assertLess((time.monotonic() - started) / 20, 0.25, "the contract's p95 budget")


class WithoutAModel(unittest.TestCase):
    def test_it_is_up_but_not_ready(self):
        server = ServerProcess("--model", "/nonexistent/model.json", "--no-env-file")
        try:
            self.assertEqual(server.request("GET", "/health")[0], 200)
            status, _, body = server.request("GET", "/ready")
            self.assertEqual(status, 503)
            answer = as_json(body)
            self.assertEqual(answer["ready"], False)
            self.assertIn("/nonexistent/model.json", answer["reason"])
            status, _, body = server.infer(FEATURES_REQUEST)
            self.assertEqual((status, as_json(body)["error"]["code"]), (503, "NOT_READY"))
        finally:
            self.assertEqual(server.stop(), 0)


class Shutdown(unittest.TestCase):
    def test_sigterm_and_sigint_stop_it_cleanly(self):
        for number in (signal.SIGTERM, signal.SIGINT):
            server = ServerProcess("--model", MODEL, "--no-env-file")
            # A kept-alive idle connection must not hold the shutdown up.
            idle = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            idle.request("GET", "/health")
            idle.getresponse().read()
            started = time.monotonic()
            self.assertEqual(server.stop(number), 0, server.stderr())
            self.assertLess(time.monotonic() - started, 3.0)
            self.assertIn("stopping", server.stderr())
            idle.close()


if __name__ == "__main__":
    unittest.main()
