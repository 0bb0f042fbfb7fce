"""``pseudolabel review RUN_DIR``: label rows, accept or correct pseudo-labels, audit precision and
retrain, in the browser — a Starlette app with server-rendered Jinja2 pages and one small vendored
script (keyboard shortcuts); nothing is loaded from the network.

Pages: ``/label?queue=Q`` (the next row of a queue), ``/row/{id}`` (one row), ``/status``
(progress, budget, accuracy estimate, audited precision, retrain). Form posts: ``/label``,
``/skip``, ``/undo``, ``/retrain``. JSON: ``GET /api/status``, ``GET /api/row/{id}``,
``POST /api/labels``, ``POST /api/export``. Run files: ``/files/{path}`` (inside the run directory only).

Every write names the row's version the page showed; a stale version is a 409 with who changed
the row to what, and nothing is written. Bad input is a 4xx with a message: unknown class (422),
unknown row (404), stale version (409), body over ``MAX_BODY`` bytes (413), a path outside the run
directory (403), malformed requests (400).
"""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

import pseudolabel
from pseudolabel.data.io import InputError
from pseudolabel.review.audit import audit_estimate
from pseudolabel.review.images import data_uri
from pseudolabel.review.queue import DEFAULT_QUEUE, PSEUDO_QUEUES, Queues, queue_names
from pseudolabel.review.run import RunView, latest_run, next_retrain_dir
from pseudolabel.store import (
    LabelStore,
    StoreError,
    UnknownClass,
    VersionConflict,
    default_store,
    export_table,
    row_key,
)

MAX_BODY = 64 * 1024
"""Largest request body accepted (a label submission is ~100 bytes)."""
MAX_COLUMNS_SHOWN = 60
STATIC = Path(__file__).parent / "static"


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes is answered 413 before the app sees it
    (declared ``Content-Length`` checked up front, chunked bodies counted as they arrive)."""

    def __init__(self, app, limit: int = MAX_BODY):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await _too_large(self.limit, send)
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await _too_large(self.limit, send)


class _TooLarge(Exception):
    pass


class SameOrigin:
    """ASGI middleware against other web sites driving this local server from a browser: a POST
    whose ``Origin`` is not this server is refused (403), and with ``allowed_hosts`` (set when the
    server listens on a loopback address) a request for another ``Host`` name (DNS rebinding) too."""

    def __init__(self, app, allowed_hosts: set[str] | None = None):
        self.app, self.allowed_hosts = app, allowed_hosts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        host = headers.get(b"host", b"").decode("latin-1")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if self.allowed_hosts is not None and name not in self.allowed_hosts:
            return await _refuse(send, f"host {host!r} is not this review server; open it as http://127.0.0.1:<port>/")
        origin = headers.get(b"origin")
        if scope["method"] == "POST" and origin is not None and origin.decode("latin-1") not in ("null",):
            netloc = origin.decode("latin-1").split("://", 1)[-1]
            if netloc != host:
                return await _refuse(send, f"cross-site request from {origin.decode('latin-1')!r} refused; nothing was written")
        await self.app(scope, receive, send)


async def _refuse(send, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _too_large(limit: int, send) -> None:
    body = json.dumps({"error": f"request body larger than {limit} bytes; nothing was written"}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class ReviewState:
    """The server's state: the run directory, the store, the current run (newest retrain) and its
    queues, and the retrain job."""

    def __init__(self, run_dir: Path, store: Path | None = None, data: Path | None = None, queue: str = DEFAULT_QUEUE,
                 budget: int | None = None, user: str | None = None, seed: int = 0):
        self.run_dir = Path(run_dir).resolve()
        self.data_override = data
        self.default_queue = queue
        self.budget = budget
        self.default_user = user or _os_user()
        self.seed = seed
        self.lock = threading.RLock()
        self.view = RunView.load(latest_run(self.run_dir), data)
        self.store_path = Path(store) if store is not None else default_store(self.run_dir)
        self.store = LabelStore(self.store_path, classes=self.view.classes, target=self.view.bundle["target"])
        self.queues = Queues(self.view, self.store, seed)
        self.retrain: dict = {"state": "idle"}
        self.accuracy_history = [self._accuracy(self.view)]
        if queue not in queue_names():
            raise InputError(f"--queue {queue!r} is not a query strategy; choose one of: {', '.join(queue_names())}")

    @staticmethod
    def _accuracy(view: RunView) -> dict:
        best = view.metrics.get("best_round")
        acc = next((h.get("heldout_accuracy") for h in view.metrics.get("history", []) if h.get("round") == best), None)
        return {"run": view.name, "path": str(view.path), "heldout_accuracy": acc,
                "heldout_precision": view.heldout().get("precision"), "labeled": view.metrics.get("labeled")}

    # ---------------------------------------------------------------- retrain
    def start_retrain(self) -> bool:
        with self.lock:
            if self.retrain.get("state") == "running":
                return False
            out = next_retrain_dir(self.run_dir)
            self.retrain = {"state": "running", "out": str(out), "started": time.time(), "log": ""}
        threading.Thread(target=self._retrain, args=(out,), daemon=True).start()
        return True

    def retrain_argv(self, out: Path) -> list[str]:
        """``pseudolabel fit`` with the run's options and the store: the CLI's own code path."""
        opts = self.view.fit_options()
        argv = [sys.executable, "-m", "pseudolabel.cli", "fit", str(self.view.data_path), "--target", self.view.bundle["target"],
                "--out", str(out), "--labels", str(self.store_path)]
        if self.view.bundle.get("id_column"):
            argv += ["--id", str(self.view.bundle["id_column"])]
        for key in ("teacher", "refine", "select", "estimator", "max_rounds", "cv", "seed", "threads", "impute", "sep",
                    "decimal", "encoding"):
            if opts.get(key) is not None:
                argv += [f"--{key.replace('_', '-')}", str(opts[key])]
        for key in ("drop", "text", "categorical", "numeric", "na_values"):
            for value in opts.get(key) or []:
                argv += [f"--{key.replace('_', '-')}", str(value)]
        if opts.get("fallback") is False:
            argv += ["--no-fallback"]
        return argv

    def _retrain(self, out: Path) -> None:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            argv = self.retrain_argv(out)
            env = dict(os.environ)  # the child imports this very package (a checkout may shadow an install)
            env["PYTHONPATH"] = os.pathsep.join([str(Path(pseudolabel.__file__).resolve().parents[1]),
                                                 *filter(None, [env.get("PYTHONPATH")])])
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=6 * 3600, env=env)
            log = (proc.stdout + proc.stderr)[-4000:]
            if proc.returncode != 0:
                with self.lock:
                    self.retrain = {**self.retrain, "state": "failed", "log": log, "returncode": proc.returncode}
                return
            view = RunView.load(latest_run(self.run_dir), self.data_override)
            with self.lock:
                self.view = view
                self.queues = Queues(view, self.store, self.seed)
                self.accuracy_history.append(self._accuracy(view))
                self.retrain = {**self.retrain, "state": "done", "log": log, "run": str(view.path),
                                "seconds": round(time.time() - self.retrain["started"], 1)}
        except Exception as exc:  # noqa: BLE001 - reported on the status page
            with self.lock:
                self.retrain = {**self.retrain, "state": "failed", "log": f"{type(exc).__name__}: {exc}"}

    # ---------------------------------------------------------------- status
    def progress(self) -> dict:
        counts = self.store.count()
        given = counts["labeled_rows"]
        return {"labels_given": given, "budget": self.budget,
                "budget_left": None if self.budget is None else max(self.budget - given, 0),
                "events": counts["events"], "by_action": counts["by_action"]}

    def status(self) -> dict:
        with self.lock:
            view, retrain = self.view, dict(self.retrain)
        return {"run": str(view.path), "run_name": view.name, "store": str(self.store_path), "progress": self.progress(),
                "accuracy": self.accuracy_history, "audit": audit_estimate(self.store, view), "retrain": retrain,
                "classes": view.classes, "queues": queue_names()}


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "reviewer"


# ==================================================================== helpers
def _templates() -> Environment:
    env = Environment(loader=PackageLoader("pseudolabel.review", "templates"), autoescape=select_autoescape(["html"]))
    env.filters["pct"] = lambda x: "–" if x is None else f"{x:.1%}"
    return env


def class_keys(classes: list[str]) -> list[tuple[str, str | None]]:
    """The key of each class button: the digit itself when the classes are the digits (press 3 for
    class "3"), else 1…9 and 0 for the first ten classes in order; None past ten."""
    if all(len(c) == 1 and c.isdigit() for c in classes):
        return [(c, c) for c in classes]
    return [(c, str((i + 1) % 10) if i < 10 else None) for i, c in enumerate(classes)]


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def _error(request: Request, status: int, message: str, **extra) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": message, **extra}, status_code=status)
    state: ReviewState = request.app.state.review
    title = {400: "Bad request", 403: "Not allowed", 404: "Not found", 409: "Changed by someone else", 413: "Too large",
             415: "Unsupported", 422: "Not accepted"}.get(status, "Error")
    user = request.cookies.get("pl_user") or state.default_user
    return _render(request, "message.html", status_code=status, title=title, message=message, status=status,
                   queue=extra.get("queue", state.default_queue), row_id=extra.get("row_id"), user=user)


def _user(request: Request, given: str | None = None) -> str:
    state: ReviewState = request.app.state.review
    user = (given or request.cookies.get("pl_user") or state.default_user).strip()
    if not user or len(user) > 100:
        raise HTTPException(400, "user name must be 1-100 characters")
    return user


async def _form_or_json(request: Request) -> dict:
    ctype = request.headers.get("content-type", "")
    body = await request.body()
    try:
        if "application/json" in ctype:
            data = json.loads(body or b"{}")
            if not isinstance(data, dict):
                raise ValueError("expected a JSON object")
            return data
        if "application/x-www-form-urlencoded" in ctype or not ctype:
            return {k: v[-1] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
    except (ValueError, UnicodeDecodeError) as exc:
        raise HTTPException(400, f"malformed request body: {exc}") from exc
    raise HTTPException(415, f"unsupported content type {ctype!r}; send a form or JSON")


def _row_context(state: ReviewState, row_id: str) -> dict:
    view = state.view
    pos = view.position().get(row_id)
    if pos is None:
        raise HTTPException(404, f"unknown row id {row_id!r}: not a row of {view.data_path.name}")
    suggestion, confidence = view.suggestion(pos)
    current = state.store.current(row_id)
    pseudo = view.pseudo.loc[row_id] if row_id in view.pseudo.index else None
    accepted = pseudo is not None and str(pseudo["source"]) != "human" and float(pseudo["weight"]) > 0 and pseudo["label"] is not None
    values = view.frame.iloc[pos]
    text = [(c, str(values[c])) for c in view.text_columns if c in values.index]
    columns = [(c, values[c]) for c in view.frame.columns if c not in view.text_columns][:MAX_COLUMNS_SHOWN]
    table_label = view.table_target.iloc[pos]
    return {
        "row_id": row_id, "position": pos, "suggestion": suggestion, "confidence": confidence,
        "probs": sorted(zip(view.classes, view.probs[pos].tolist(), strict=True), key=lambda t: -t[1])[:5],
        "pseudo_label": None if not accepted else row_key(pseudo["label"]),
        "pseudo_confidence": None if not accepted else float(pseudo["confidence"]),
        "human": current, "version": 0 if current is None else int(current["version"]),
        "table_label": None if table_label is None or str(table_label).strip() in ("", "nan") else str(table_label),
        "text": text, "columns": columns, "n_columns": view.frame.shape[1],
        "image": data_uri(view.frame.iloc[pos].to_numpy(dtype=float), view.image) if view.image else None,
    }


def _action(ctx: dict, label: str) -> str:
    if ctx["human"] is not None and ctx["human"]["label"] is not None:
        return "correct" if ctx["human"]["label"] != label else "label"
    if ctx["pseudo_label"] is not None:
        return "accept" if label == ctx["pseudo_label"] else "correct"
    return "label"


def _submit(state: ReviewState, data: dict, user: str) -> dict:
    """Validate and write one label; raises HTTPException (4xx) with nothing written on bad input."""
    row_id = str(data.get("row_id", "")).strip()
    label = data.get("label")
    queue = str(data.get("queue") or state.default_queue)
    if not row_id:
        raise HTTPException(400, "row_id is missing")
    if label is None or str(label).strip() == "":
        raise HTTPException(400, "label is missing")
    label = str(label)
    version = data.get("version")
    try:
        version = None if version in (None, "") else int(version)
    except (TypeError, ValueError) as exc:
        raise HTTPException(400, f"version must be an integer, got {version!r}") from exc
    if version is None:
        raise HTTPException(400, "version is missing: send the row version you saw (0 if it had no label)")
    if queue not in queue_names():
        raise HTTPException(400, f"unknown queue {queue!r}")
    with state.lock:
        view = state.view
    ctx = _row_context(state, row_id)
    if label not in view.classes:
        raise HTTPException(422, f"unknown class {label!r}; the classes are: {', '.join(view.classes)}")
    try:
        return state.store.set_label(row_id, label, user=user, expected_version=version, action=_action(ctx, label),
                                     strategy=queue, suggestion=ctx["pseudo_label"] or ctx["suggestion"],
                                     confidence=ctx["pseudo_confidence"] or ctx["confidence"], run=str(view.path),
                                     source="api" if data.get("_api") else "review")
    except VersionConflict as exc:
        raise _Conflict(str(exc), exc.current) from exc
    except UnknownClass as exc:
        raise HTTPException(422, str(exc)) from exc
    except StoreError as exc:
        raise HTTPException(400, str(exc)) from exc


class _Conflict(HTTPException):
    def __init__(self, message: str, current: dict | None):
        super().__init__(409, message)
        self.current = current


# ==================================================================== pages
async def index(request: Request) -> Response:
    return RedirectResponse(f"/label?queue={quote(request.app.state.review.default_queue)}", status_code=303)


async def label_page(request: Request) -> Response:
    state: ReviewState = request.app.state.review
    queue = request.query_params.get("queue", state.default_queue)
    if queue not in queue_names():
        raise HTTPException(400, f"unknown queue {queue!r}; choose one of: {', '.join(queue_names())}")
    user = _user(request)
    with state.lock:
        queues = state.queues
    rows = queues.next_rows(queue, user, 1)
    if not rows:
        return _render(request, "empty.html", queue=queue, user=user)
    return _row_page(request, rows[0], queue, user)


async def row_page(request: Request) -> Response:
    state: ReviewState = request.app.state.review
    queue = request.query_params.get("queue", state.default_queue)
    if queue not in queue_names():
        raise HTTPException(400, f"unknown queue {queue!r}")
    return _row_page(request, request.path_params["row_id"], queue, _user(request))


def _row_page(request: Request, row_id: str, queue: str, user: str) -> Response:
    state: ReviewState = request.app.state.review
    ctx = _row_context(state, row_id)
    notice = request.query_params.get("notice")
    return _render(request, "label.html", row=ctx, queue=queue, user=user, notice=notice,
                   is_pseudo_queue=queue in PSEUDO_QUEUES)


def _render(request: Request, template: str, status_code: int = 200, **ctx) -> HTMLResponse:
    state: ReviewState = request.app.state.review
    with state.lock:
        view, retrain = state.view, dict(state.retrain)
    page = request.app.state.env.get_template(template).render(
        classes=view.classes, class_keys=class_keys(view.classes), queues=queue_names(), progress=state.progress(), run_name=view.name,
        retrain=retrain, accuracy=state.accuracy_history[-1], **ctx)
    return HTMLResponse(page, status_code=status_code)


async def post_label(request: Request) -> Response:
    state: ReviewState = request.app.state.review
    data = await _form_or_json(request)
    user = _user(request, data.get("user"))
    queue = str(data.get("queue") or state.default_queue)
    try:
        event = _submit(state, data, user)
    except _Conflict as exc:
        return _error(request, 409, exc.detail, queue=queue, row_id=data.get("row_id"), current=exc.current)
    except HTTPException as exc:
        return _error(request, exc.status_code, exc.detail, queue=queue, row_id=data.get("row_id"))
    if _wants_json(request):
        return JSONResponse({"ok": True, "event": event})
    notice = f"saved row {event['row_id']} = {event['label']} ({event['action']})"
    return RedirectResponse(f"/label?{urlencode({'queue': queue, 'notice': notice})}", status_code=303)


async def post_skip(request: Request) -> Response:
    state: ReviewState = request.app.state.review
    data = await _form_or_json(request)
    user = _user(request, data.get("user"))
    row_id = str(data.get("row_id", ""))
    queue = str(data.get("queue") or state.default_queue)
    if row_id not in state.view.position():
        return _error(request, 404, f"unknown row id {row_id!r}", queue=queue)
    if queue == "audit_sample":
        return _error(request, 409, "rows of the audit sample cannot be skipped: skipping the hard ones would bias the "
                      "precision estimate; accept the pseudo-label or correct it", queue=queue, row_id=row_id)
    state.store.skip(row_id, user=user)
    return RedirectResponse(f"/label?{urlencode({'queue': queue, 'notice': f'skipped row {row_id}'})}", status_code=303)


async def post_undo(request: Request) -> Response:
    state: ReviewState = request.app.state.review
    data = await _form_or_json(request)
    user = _user(request, data.get("user"))
    queue = str(data.get("queue") or state.default_queue)
    try:
        event = state.store.undo(user=user)
    except VersionConflict as exc:
        return _error(request, 409, f"cannot undo: {exc}", queue=queue)
    except StoreError as exc:
        return _error(request, 400, str(exc), queue=queue)
    if _wants_json(request):
        return JSONResponse({"ok": True, "event": event})
    what = "withdrawn" if event["label"] is None else f"back to {event['label']}"
    notice = f"undone: row {event['row_id']} {what}"
    return RedirectResponse(f"/row/{quote(event['row_id'])}?{urlencode({'queue': queue, 'notice': notice})}", status_code=303)


async def post_user(request: Request) -> Response:
    data = await _form_or_json(request)
    user = _user(request, str(data.get("user", "")))
    resp = RedirectResponse(str(data.get("next") or "/") if str(data.get("next", "/")).startswith("/") else "/", status_code=303)
    resp.set_cookie("pl_user", user, httponly=True, samesite="strict")
    return resp


async def post_retrain(request: Request) -> Response:
    state: ReviewState = request.app.state.review
    started = state.start_retrain()
    if not started:
        return _error(request, 409, "a retrain is already running; wait for it to finish")
    if _wants_json(request):
        return JSONResponse({"ok": True, "retrain": state.retrain}, status_code=202)
    return RedirectResponse("/status", status_code=303)


async def status_page(request: Request) -> Response:
    state: ReviewState = request.app.state.review
    return _render(request, "status.html", status=state.status(), user=_user(request), queue=state.default_queue)


# ==================================================================== JSON
async def api_status(request: Request) -> Response:
    return JSONResponse(request.app.state.review.status())


async def api_row(request: Request) -> Response:
    state: ReviewState = request.app.state.review
    try:
        ctx = _row_context(state, request.path_params["row_id"])
    except HTTPException as exc:
        return _error(request, exc.status_code, exc.detail)
    ctx.pop("image", None)
    ctx["columns"] = [(c, str(v)) for c, v in ctx["columns"]]
    return JSONResponse(ctx)


async def api_labels(request: Request) -> Response:
    state: ReviewState = request.app.state.review
    data = await _form_or_json(request)
    items = data.get("labels") if isinstance(data.get("labels"), list) else [data]
    if len(items) != 1:
        return _error(request, 400, "send one label per request (row_id, label, version)")
    item = dict(items[0], _api=True)
    user = _user(request, data.get("user"))
    try:
        event = _submit(state, item, user)
    except _Conflict as exc:
        return JSONResponse({"error": exc.detail, "current": exc.current}, status_code=409)
    except HTTPException as exc:
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
    return JSONResponse({"ok": True, "event": event})


def _inside(state: ReviewState, rel: str) -> Path:
    """``rel`` resolved inside the run directory, or 403."""
    if not rel or "\x00" in rel:
        raise HTTPException(400, "a path is required")
    path = (state.run_dir / rel).resolve()
    if path != state.run_dir and state.run_dir not in path.parents:
        raise HTTPException(403, f"path {rel!r} is outside the run directory {state.run_dir}; nothing was written")
    return path


async def api_export(request: Request) -> Response:
    state: ReviewState = request.app.state.review
    data = await _form_or_json(request)
    try:
        path = _inside(state, str(data.get("path", "")))
        if path.suffix.lower() not in (".csv", ".tsv", ".parquet"):
            raise HTTPException(400, "export path must end in .csv, .tsv or .parquet")
        path.parent.mkdir(parents=True, exist_ok=True)
        n = export_table(state.store, path, history=bool(data.get("history")))
    except HTTPException as exc:
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
    except (InputError, StoreError) as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    return JSONResponse({"ok": True, "path": str(path), "rows": n})


async def run_file(request: Request) -> Response:
    state: ReviewState = request.app.state.review
    try:
        path = _inside(state, request.path_params["path"])
    except HTTPException as exc:
        return _error(request, exc.status_code, exc.detail)
    if path.name.endswith((".db", ".db-wal", ".db-shm")) or not path.is_file():
        return _error(request, 404, f"no such run file: {request.path_params['path']}")
    return FileResponse(path)


async def http_error(request: Request, exc: HTTPException) -> Response:
    return _error(request, exc.status_code, exc.detail)


def create_app(run_dir: str | Path, *, store: str | Path | None = None, data: str | Path | None = None,
               queue: str = DEFAULT_QUEUE, budget: int | None = None, user: str | None = None, seed: int = 0,
               allowed_hosts: set[str] | None = None):
    """The review app for ``run_dir`` (wrapped in the same-origin guard and the body-size limit)."""
    state = ReviewState(Path(run_dir), None if store is None else Path(store), None if data is None else Path(data),
                        queue, budget, user, seed)
    routes = [
        Route("/", index), Route("/label", label_page), Route("/row/{row_id:path}", row_page),
        Route("/label", post_label, methods=["POST"]), Route("/skip", post_skip, methods=["POST"]),
        Route("/undo", post_undo, methods=["POST"]), Route("/user", post_user, methods=["POST"]),
        Route("/retrain", post_retrain, methods=["POST"]), Route("/status", status_page),
        Route("/api/status", api_status), Route("/api/row/{row_id:path}", api_row),
        Route("/api/labels", api_labels, methods=["POST"]), Route("/api/export", api_export, methods=["POST"]),
        Route("/files/{path:path}", run_file),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        Route("/healthz", lambda request: PlainTextResponse("ok")),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
    app.state.review = state
    app.state.env = _templates()
    return SameOrigin(BodyLimit(app), allowed_hosts)
