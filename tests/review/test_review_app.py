"""The review app in-process: pages, queues, bad input (each a clear 4xx with nothing written)."""

import re

import pytest

pytest.importorskip("starlette", reason="the review extra (starlette, jinja2, uvicorn) is not installed")
from starlette.testclient import TestClient  # noqa: E402

from pseudolabel.core import available  # noqa: E402
from pseudolabel.review.app import MAX_BODY, create_app  # noqa: E402
from pseudolabel.store import LabelStore  # noqa: E402


@pytest.fixture
def client(run_dir):
    return TestClient(create_app(run_dir, user="alice", budget=50))


def _row(html):
    return re.search(r'data-row-id="([^"]+)"', html).group(1), int(re.search(r'data-version="(\d+)"', html).group(1))


def test_label_page_shows_row_suggestion_image_and_progress(client):
    r = client.get("/", follow_redirects=True)
    assert r.status_code == 200
    assert 'src="data:image/png;base64,' in r.text  # 64 pixel columns shown as an 8×8 image
    assert "model suggests" in r.text and "labels given" in r.text and "of budget 50" in r.text
    assert '<script src="/static/review.js">' in r.text and "http" not in r.text.split("<main>")[0].replace("http-equiv", "")
    assert client.get("/static/review.js").status_code == 200


def test_every_queue_serves_a_row(client):
    for q in available("query"):
        r = client.get(f"/label?queue={q}")
        assert r.status_code == 200 and 'data-row-id="' in r.text, q
    r = client.get("/label?queue=likely_wrong")
    assert 'id="accept"' in r.text and "pseudo-label" in r.text  # accept / correct


def test_label_accept_correct_skip_undo(client, run_dir):
    store = LabelStore(run_dir / "labels.db")
    rid, ver = _row(client.get("/label?queue=entropy_sampling").text)
    r = client.post("/label", data={"row_id": rid, "label": "3", "version": ver, "queue": "entropy_sampling"}, follow_redirects=False)
    assert r.status_code == 303 and store.labels()[rid] == "3" and store.current(rid)["strategy"] == "entropy_sampling"
    assert _row(client.get("/label?queue=entropy_sampling").text)[0] != rid  # labeled rows leave the queue
    page = client.get("/label?queue=likely_wrong").text
    prid, pver = _row(page)
    pseudo = re.search(r'id="pseudo-label">([^<]+)<', page).group(1)
    client.post("/label", data={"row_id": prid, "label": pseudo, "version": pver, "queue": "likely_wrong"})
    assert store.current(prid)["action"] == "accept" and store.current(prid)["suggestion"] == pseudo
    other = str((int(pseudo) + 1) % 10)
    client.post("/label", data={"row_id": prid, "label": other, "version": pver + 1, "queue": "likely_wrong"})
    assert store.current(prid)["action"] == "correct" and store.current(prid)["previous"] == pseudo
    nxt, _ = _row(client.get("/label?queue=margin_sampling").text)
    client.post("/skip", data={"row_id": nxt, "queue": "margin_sampling"})
    assert _row(client.get("/label?queue=margin_sampling").text)[0] != nxt and nxt not in store.labels()
    r = client.post("/undo", data={"queue": "likely_wrong"}, follow_redirects=False)
    assert r.status_code == 303 and store.labels()[prid] == pseudo and len(store.history(prid)) == 3


def test_bad_input_is_a_clear_4xx_and_writes_nothing(client, run_dir):
    store = LabelStore(run_dir / "labels.db")
    rid, ver = _row(client.get("/label").text)
    client.post("/api/labels", json={"row_id": rid, "label": "1", "version": ver})
    n = len(store.history())
    cases = [
        ({"row_id": rid, "label": "cow", "version": 1}, 422, "unknown class 'cow'"),
        ({"row_id": "no-such-row", "label": "1", "version": 0}, 404, "unknown row id"),
        ({"row_id": rid, "label": "2", "version": 0}, 409, "changed while you were looking"),
        ({"row_id": rid, "label": "2"}, 400, "version is missing"),
        ({"row_id": rid, "label": "2", "version": "x"}, 400, "version must be an integer"),
        ({"label": "2", "version": 1}, 400, "row_id is missing"),
    ]
    for body, status, message in cases:
        r = client.post("/api/labels", json=body)
        assert r.status_code == status and message in r.json()["error"], (body, r.text)
    r = client.post("/api/labels", json={"row_id": rid, "label": "2", "version": 1, "pad": "x" * (MAX_BODY + 10)})
    assert r.status_code == 413 and "larger than" in r.json()["error"]
    r = client.post("/api/labels", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and "malformed" in r.json()["error"]
    r = client.post("/api/export", json={"path": "../../outside.csv"})
    assert r.status_code == 403 and "outside the run directory" in r.json()["error"]
    assert not (run_dir.parent.parent / "outside.csv").exists()
    assert client.get("/files/..%2F..%2Fetc%2Fpasswd").status_code == 403
    assert client.get("/files/labels.db").status_code == 404  # the store is not served
    assert client.get("/files/report.html").status_code == 200
    # the HTML form gets the same refusal as a page with the message and a way back
    r = client.post("/label", data={"row_id": rid, "label": "2", "version": 0, "queue": "entropy_sampling"})
    assert r.status_code == 409 and "alice set it to" in r.text and 'id="reload-row"' in r.text
    assert len(store.history()) == n


def test_export_inside_the_run_directory(client, run_dir):
    rid, ver = _row(client.get("/label").text)
    client.post("/api/labels", json={"row_id": rid, "label": "1", "version": ver})
    r = client.post("/api/export", json={"path": "exports/labels.csv"})
    assert r.status_code == 200 and (run_dir / "exports" / "labels.csv").read_text().count("\n") == 2


def test_class_keys():
    from pseudolabel.review.app import class_keys

    assert class_keys(["0", "1", "2"]) == [("0", "0"), ("1", "1"), ("2", "2")]  # digit classes: press the digit
    keys = class_keys([f"c{i}" for i in range(12)])
    assert keys[0] == ("c0", "1") and keys[9] == ("c9", "0") and keys[10] == ("c10", None)


def test_other_sites_cannot_drive_the_server(run_dir):
    client = TestClient(create_app(run_dir, user="alice", allowed_hosts={"127.0.0.1", "localhost"}),
                        base_url="http://127.0.0.1:8765")
    rid, ver = _row(client.get("/label").text)
    r = client.post("/api/labels", json={"row_id": rid, "label": "1", "version": ver}, headers={"origin": "http://evil.example"})
    assert r.status_code == 403 and "cross-site" in r.json()["error"]
    r = client.get("/label", headers={"host": "evil.example:8765"})
    assert r.status_code == 403
    ok = client.post("/api/labels", json={"row_id": rid, "label": "1", "version": ver}, headers={"origin": "http://127.0.0.1:8765"})
    assert ok.status_code == 200
    assert len(LabelStore(run_dir / "labels.db").history()) == 1


def test_audit_rows_cannot_be_skipped(client, run_dir):
    rid, _ = _row(client.get("/label?queue=audit_sample").text)
    r = client.post("/skip", data={"row_id": rid, "queue": "audit_sample"})
    assert r.status_code == 409 and "bias" in r.text
    assert _row(client.get("/label?queue=audit_sample").text)[0] == rid


def test_audit_queue_gives_an_unbiased_precision_estimate(client, run_dir):
    from pseudolabel.ops.stratified import stratified_proportion
    from pseudolabel.review.audit import run_key

    status = client.get("/api/status").json()["audit"]
    assert not status["ready"] and status["n_checked"] == 0
    for i in range(12):
        page = client.get("/label?queue=audit_sample").text
        rid, ver = _row(page)
        pseudo = re.search(r'id="pseudo-label">([^<]+)<', page).group(1)
        label = pseudo if i % 4 else str((int(pseudo) + 1) % 10)  # every 4th pseudo-label is wrong
        client.post("/label", data={"row_id": rid, "label": label, "version": ver, "queue": "audit_sample"})
    audit = client.get("/api/status").json()["audit"]
    assert audit["ready"] and audit["n_checked"] == 12 and audit["low"] < audit["estimate"] < audit["high"]
    store = LabelStore(run_dir / "labels.db")
    sizes, rows = store.audit_design(run_key(type("V", (), {"path": run_dir})()))
    checked = {h: 0 for h in sizes}
    right = {h: 0 for h in sizes}
    for r in rows[:12]:
        checked[r["stratum"]] += 1
        right[r["stratum"]] += store.labels()[r["row_id"]] == r["pseudo_label"]
    assert audit["estimate"] == pytest.approx(stratified_proportion(sizes, checked, right)["estimate"])
    assert "95% CI" in client.get("/status").text


def test_image_detection_and_png():
    import zlib

    import numpy as np
    import pandas as pd

    from pseudolabel.review.images import png_gray
    from pseudolabel.review.run import image_shape

    assert image_shape(pd.DataFrame(np.ones((2, 64)))) == (8, 8)
    assert image_shape(pd.DataFrame(np.ones((2, 16)))) is None  # 16 columns: a table, not a picture
    assert image_shape(pd.DataFrame(-np.ones((2, 64)))) is None
    png = png_gray(np.arange(64.0), (8, 8))
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png[12:16] == b"IHDR"
    w, h = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert w == h == 168
    raw = zlib.decompress(png[png.index(b"IDAT") + 4:png.index(b"IEND") - 8])
    assert len(raw) == h * (w + 1) and raw[1] == 255 and raw[-1] == 0  # first pixel light (0), last dark (63)
