"""OpenAI-compatible client against a local fake server on 127.0.0.1 (random port, own thread)."""

import json
import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

pytest.importorskip("httpx")

from pseudolabel.teachers.llm_client import LabelerError, OpenAIChatLabeler, choice_confidence  # noqa: E402
from pseudolabel.teachers.voting import ExternalLabeler  # noqa: E402

CLASSES = ["negative", "positive"]


class FakeServer:
    """Deterministic chat completions: 'positive' when the prompt contains 'good', else
    'negative'; a scripted queue of failures (status codes or 'sleep') comes first."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = 0
        self.in_flight = 0
        self.peak = 0
        self.script = []  # e.g. [429, 500, "sleep"]
        self.delay = 0.0
        self.max_n = None  # cap on choices per response (a server that ignores n)
        self.bodies = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests += 1
                    server.in_flight += 1
                    server.peak = max(server.peak, server.in_flight)
                    server.bodies.append(body)
                    action = server.script.pop(0) if server.script else None
                try:
                    if action == "sleep":
                        time.sleep(1.0)
                    elif isinstance(action, int):
                        self._send(action, {"error": {"message": "scripted failure"}}, {"Retry-After": "0"})
                        return
                    time.sleep(server.delay)
                    self._send(200, server.completion(body))
                finally:
                    with server.lock:
                        server.in_flight -= 1

            def _send(self, status, payload, headers=None):
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def completion(self, body):
        text = body["messages"][-1]["content"]
        answer = "positive" if "good" in text else "negative"
        n = body.get("n", 1) if self.max_n is None else min(body.get("n", 1), self.max_n)
        choices = []
        for i in range(n):
            # the last sample is a less confident dissent
            ans, lp = (answer, -0.1) if i < n - 1 or n == 1 else ("negative" if answer == "positive" else "positive", -2.0)
            choices.append({
                "index": i,
                "message": {"role": "assistant", "content": ans},
                "logprobs": {"content": [{"token": ans, "logprob": lp, "top_logprobs": []}]},
                "finish_reason": "stop",
            })  # fmt: skip
        return {"id": "x", "object": "chat.completion", "model": body["model"], "choices": choices}

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = FakeServer()
    yield s
    s.close()


def labeler(server, **kw):
    kw = {"backoff": 0.01, "max_backoff": 0.05, "timeout": 5.0, **kw}
    return OpenAIChatLabeler("fake-model", base_url=server.url, **kw)


def test_labels_with_votes_and_logprob_confidence(server):
    t = ExternalLabeler(labeler(server), classes=CLASSES, k=3, cache=False)
    p = t.transduce(["a good movie", "a dull movie"])
    np.testing.assert_array_equal(p.argmax(axis=1), [1, 0])
    np.testing.assert_allclose(t.confidences_[0], [math.exp(-0.1)] * 2 + [math.exp(-2.0)])
    np.testing.assert_allclose(t.vote_share_[0], 2 * math.exp(-0.1) / (2 * math.exp(-0.1) + math.exp(-2.0)))
    body = server.bodies[0]
    assert body["n"] == 3 and body["logprobs"] is True and body["model"] == "fake-model"
    assert "negative, positive" in body["messages"][-1]["content"]


def test_confidence_grows_with_token_logprob():
    def ch(lps):
        return {"logprobs": {"content": [{"logprob": v} for v in lps]}}

    values = [choice_confidence(ch([lp, lp])) for lp in (-3.0, -1.0, -0.2, 0.0)]
    assert np.all(np.diff(values) > 0) and values[-1] == 1.0
    assert choice_confidence({"message": {"content": "x"}}) == 1.0  # no logprobs: plain vote


def test_second_run_makes_zero_requests(server, tmp_path):
    texts = [f"good item {i}" for i in range(5)]
    first = ExternalLabeler(labeler(server), classes=CLASSES, k=4, cache=tmp_path)
    p1 = first.transduce(texts)
    assert server.requests == 5
    second = ExternalLabeler(labeler(server), classes=CLASSES, k=4, cache=tmp_path)
    p2 = second.transduce(texts)
    assert server.requests == 5 and second.n_queried_ == 0
    np.testing.assert_allclose(p1, p2)
    # a different sampling temperature is a different cache entry
    ExternalLabeler(labeler(server, temperature=0.5), classes=CLASSES, k=4, cache=tmp_path).transduce(texts[:1])
    assert server.requests == 6


def test_concurrency_is_bounded(server):
    server.delay = 0.05
    t = ExternalLabeler(labeler(server), classes=CLASSES, k=1, cache=False, max_concurrency=2)
    t.transduce([f"good {i}" for i in range(8)])
    assert server.requests == 8
    assert server.peak == 2


def test_retries_on_429_and_500(server):
    server.script = [429, 500, 503]
    lab = labeler(server, max_retries=3)
    t = ExternalLabeler(lab, classes=CLASSES, k=2, cache=False)
    assert t.transduce(["good"]).argmax() == 1
    assert server.requests == 4 and lab.n_requests_ == 4


def test_gives_up_after_the_last_retry_and_on_client_errors(server):
    server.script = [500] * 10
    t = ExternalLabeler(labeler(server, max_retries=1), classes=CLASSES, k=2, cache=False)
    with pytest.raises(RuntimeError, match="failed on 1 of 1") as info:
        t.transduce(["good"])
    assert isinstance(info.value.__cause__, LabelerError) and server.requests == 2
    server.script = [400]
    with pytest.raises(RuntimeError) as info:
        ExternalLabeler(labeler(server, max_retries=3), classes=CLASSES, k=2, cache=False).transduce(["good"])
    assert "refused" in str(info.value.__cause__) and server.requests == 3  # 4xx: no retry


def test_timeout_is_retried(server):
    server.script = ["sleep"]  # the first request outlives the timeout
    lab = labeler(server, timeout=0.2, max_retries=2)
    t = ExternalLabeler(lab, classes=CLASSES, k=2, cache=False)
    assert t.transduce(["good"]).argmax() == 1
    assert lab.n_requests_ == 2


def test_server_that_ignores_n_is_asked_again(server):
    server.max_n = 1
    lab = labeler(server)
    t = ExternalLabeler(lab, classes=CLASSES, k=3, cache=False)
    t.transduce(["good"])
    assert server.requests == 3 and t.answers_.shape == (1, 3)
    assert [b["n"] for b in server.bodies] == [3, 2, 1]


def test_dict_spec_builds_the_client(server):
    t = ExternalLabeler({"model": "fake-model", "base_url": server.url}, classes=CLASSES, k=1, cache=False)
    assert t.transduce(["good"]).argmax() == 1
