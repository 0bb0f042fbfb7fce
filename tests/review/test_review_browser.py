"""A real browser (Playwright driving Debian's Chromium) labels rows with the keyboard, corrects a
pseudo-label, undoes, retrains, and the store and the new run hold every label."""

import os
import shutil

import pandas as pd
import pytest

pytest.importorskip("uvicorn", reason="the review extra (starlette, jinja2, uvicorn) is not installed")
playwright = pytest.importorskip("playwright.sync_api", reason="playwright (dev extra) is not installed")

from pseudolabel.review.app import create_app  # noqa: E402
from pseudolabel.store import LabelStore, row_key  # noqa: E402

CHROMIUM = os.environ.get("PSEUDOLABEL_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
N_KEYBOARD_LABELS = 22

pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) or shutil.which("chromium")),
    reason=f"Chromium not found at {CHROMIUM}: apt-get install chromium (CI installs it in .ci/run)",
)


def _key_for(page, label):
    return page.locator(f'button.cls[value="{label}"]').get_attribute("data-key")


def test_browser_keyboard_labeling_correction_and_retrain(run_dir, helpers):
    classes = [str(c) for c in range(10)]
    given = {}
    with helpers.ServerThread(create_app(run_dir, user="x", budget=40)) as srv, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.goto(f"{srv.url}/label?queue=entropy_sampling")
        page.fill("input[name=user]", "carol")
        with page.expect_navigation():
            page.press("input[name=user]", "Enter")
        # 1. label rows with the digit keys
        for i in range(N_KEYBOARD_LABELS):
            row = page.locator("#row")
            rid = row.get_attribute("data-row-id")
            label = page.locator("#suggestion").inner_text() if i % 3 else classes[i % 10]
            with page.expect_navigation():
                page.keyboard.press(_key_for(page, label))
            assert "saved row" in page.locator("#notice").inner_text()
            given[rid] = label
        assert page.locator("#labels-given").inner_text() == str(N_KEYBOARD_LABELS)
        # 2. skip (s) a row, label the next one, undo it (u)
        skipped = page.locator("#row").get_attribute("data-row-id")
        with page.expect_navigation():
            page.keyboard.press("s")
        undone = page.locator("#row").get_attribute("data-row-id")
        assert undone != skipped
        with page.expect_navigation():
            page.keyboard.press("5")
        with page.expect_navigation():
            page.keyboard.press("u")
        assert "undone" in page.locator("#notice").inner_text()
        # 3. correct a pseudo-label in the "most likely wrong" queue, accept another one (a)
        page.goto(f"{srv.url}/label?queue=likely_wrong")
        corrected = page.locator("#row").get_attribute("data-row-id")
        pseudo = page.locator("#pseudo-label").inner_text()
        right = classes[(classes.index(pseudo) + 3) % 10]
        with page.expect_navigation():
            page.keyboard.press(_key_for(page, right))
        given[corrected] = right
        accepted = page.locator("#row").get_attribute("data-row-id")
        with page.expect_navigation():
            page.keyboard.press("a")
        given[accepted] = row_key(pd.read_parquet(run_dir / "pseudo_labels.parquet").set_index("id").loc[accepted, "label"])
        # 4. retrain (r) and wait for the status page to show the new run
        with page.expect_navigation():
            page.keyboard.press("r")
        page.wait_for_selector('#status[data-retrain="done"]', timeout=180_000)
        runs = page.locator("#runs tr").count()
        browser.close()
    assert runs == 3  # header, the initial run, the retrain
    store = LabelStore(run_dir / "labels.db")
    labels = store.labels()
    for rid, label in given.items():
        assert labels[rid] == label, rid
    # a skip writes nothing and the undo took its label back; either row may be labeled again later
    # when a queue serves it (then it is in `given`, checked above)
    assert all(rid not in labels for rid in (skipped, undone) if rid not in given)
    assert store.current(corrected)["action"] == "correct" and store.current(corrected)["previous"] is None and store.current(accepted)["action"] == "accept"
    assert {e["user"] for e in store.history()} == {"carol"}
    new = run_dir / "retrains" / "001"
    rec = pd.read_parquet(new / "pseudo_labels.parquet").set_index("id")
    for rid, label in given.items():
        assert rec.loc[rid, "source"] == "human" and row_key(rec.loc[rid, "label"]) == label, rid
    assert (new / "report.html").is_file() and (new / "model.joblib").is_file()
