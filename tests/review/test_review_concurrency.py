"""Two people labeling at once against the live server, and a server killed mid-write."""

import os
import signal
import threading
import time

import pytest

pytest.importorskip("uvicorn", reason="the review extra (starlette, jinja2, uvicorn) is not installed")
import httpx  # noqa: E402

from pseudolabel.review.app import create_app  # noqa: E402
from pseudolabel.store import LabelStore  # noqa: E402

N_PER_USER = 40
ROWS = [f"r{i:03d}" for i in range(100, 116)]  # 16 rows both users work on


def _submit(client, user, row, label):
    version = client.get(f"/api/row/{row}").json()["version"]
    time.sleep(0.002)  # a person looks at the row before answering: the other may answer first
    r = client.post("/api/labels", json={"row_id": row, "label": label, "version": version, "user": user})
    return r.status_code, r.json()


def test_simultaneous_submissions_lose_nothing_and_report_every_conflict(run_dir, helpers):
    results = {"alice": [], "bob": []}
    with helpers.ServerThread(create_app(run_dir, user="x")) as srv:
        clients = {u: httpx.Client(base_url=srv.url, timeout=30) for u in results}
        # a certain conflict first: both saw version 0 of the same row
        v = clients["alice"].get(f"/api/row/{ROWS[0]}").json()["version"]
        first = clients["alice"].post("/api/labels", json={"row_id": ROWS[0], "label": "1", "version": v, "user": "alice"})
        second = clients["bob"].post("/api/labels", json={"row_id": ROWS[0], "label": "2", "version": v, "user": "bob"})
        assert first.status_code == 200 and second.status_code == 409
        assert second.json()["current"]["user"] == "alice" and "alice set it to '1'" in second.json()["error"]
        start = threading.Barrier(2)

        def work(user, offset):
            start.wait()
            for i in range(N_PER_USER):
                row = ROWS[(i + offset) % len(ROWS)]
                label = str((i + offset) % 10)
                results[user].append((row, label, *_submit(clients[user], user, row, label)))

        threads = [threading.Thread(target=work, args=("alice", 0)), threading.Thread(target=work, args=("bob", 5))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        for c in clients.values():
            c.close()
    store = LabelStore(run_dir / "labels.db")
    history = store.history()
    ok = [(u, row, label, body["event"]) for u, rs in results.items() for row, label, status, body in rs if status == 200]
    conflicts = [body for rs in results.values() for _, _, status, body in rs if status != 200]
    assert len(ok) + len(conflicts) == 2 * N_PER_USER >= 50
    assert all("changed while you were looking" in c["error"] and c["current"] is not None for c in conflicts)
    assert len(history) == len(ok) + 1  # every accepted submission written once, nothing else
    by_seq = {e["seq"]: e for e in history}
    for user, row, label, event in ok:
        e = by_seq[event["seq"]]
        assert (e["row_id"], e["label"], e["user"]) == (row, label, user)
    for row in ROWS:  # versions 1..n without gaps: no write overwrote another silently
        versions = [e["version"] for e in history if e["row_id"] == row]
        assert versions == list(range(1, len(versions) + 1))
        if versions:
            assert store.current(row)["label"] == [e for e in history if e["row_id"] == row][-1]["label"]
    assert store.integrity() == "ok"


def test_server_killed_mid_write_loses_no_committed_label(run_dir, helpers):
    port = helpers.free_port()
    proc = helpers.server_process(run_dir, port)
    url = f"http://127.0.0.1:{port}"
    try:
        helpers.wait_http(url, proc)
        committed, stop = [], threading.Event()

        def hammer():
            with httpx.Client(base_url=url, timeout=5) as c:
                i = 0
                while not stop.is_set():
                    row = f"r{30 + i % 200:03d}"
                    try:
                        version = c.get(f"/api/row/{row}").json()["version"]
                        r = c.post("/api/labels", json={"row_id": row, "label": str(i % 10), "version": version})
                    except (httpx.HTTPError, ValueError):
                        return  # the server is gone
                    if r.status_code == 200:
                        committed.append(r.json()["event"])
                    i += 1

        workers = [threading.Thread(target=hammer) for _ in range(3)]
        for w in workers:
            w.start()
        deadline = time.time() + 30
        while len(committed) < 40 and time.time() < deadline:
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)  # mid-write: three clients are posting
        proc.wait(10)
        stop.set()
        for w in workers:
            w.join(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert len(committed) >= 40
    store = LabelStore(run_dir / "labels.db")  # opens cleanly (WAL recovery)
    assert store.integrity() == "ok"
    history = {e["seq"]: e for e in store.history()}
    for event in committed:
        assert history[event["seq"]]["label"] == event["label"] and history[event["seq"]]["row_id"] == event["row_id"]
    assert len(committed) <= len(history) <= len(committed) + 3  # at most the requests in flight also landed
    store.set_label("r001", "1", user="after", expected_version=store.version("r001"))  # and it takes new writes
