"""Where labels go: Parquet written atomically, each shard committed by its manifest.

Two kinds of sink:

- a **file** (``out.parquet``; local engine, no shard): the table is written to a temporary
  sibling and renamed into place, then ``out.parquet.manifest.json`` is written the same way;
- a **directory** (anything else, and always for the Ray engine or ``--shard``): shard ``i`` of
  ``N`` writes its data files ``part-{i:05d}-of-{N:05d}-{token}-{j:05d}.parquet`` and then, last,
  ``part-{i:05d}-of-{N:05d}.manifest.json`` naming them. A shard without its manifest is not
  written (readers ignore its files); running a shard again replaces its manifest atomically and
  then deletes the files of the previous attempt.

:func:`read_labels` reads either kind back and refuses an incomplete set of shards.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pseudolabel.ops.files import atomic_path

MANIFEST_FORMAT = "pseudolabel-labels/1"
_MANIFEST = re.compile(r"^part-(\d{5})-of-(\d{5})\.manifest\.json$")


def is_file_sink(sink, shard: tuple[int, int], engine: str) -> bool:
    return engine == "local" and shard == (0, 1) and Path(sink).suffix.lower() in (".parquet", ".pq") and not Path(sink).is_dir()


def shard_stem(shard: tuple[int, int]) -> str:
    return f"part-{shard[0]:05d}-of-{shard[1]:05d}"


def new_token() -> str:
    return secrets.token_hex(4)


def manifest_path(sink, shard: tuple[int, int], *, file_sink: bool) -> Path:
    sink = Path(sink)
    return sink.with_name(sink.name + ".manifest.json") if file_sink else sink / f"{shard_stem(shard)}.manifest.json"


def write_manifest(sink, shard: tuple[int, int], manifest: dict, *, file_sink: bool) -> Path:
    """Commit a shard: its manifest, atomically; then remove the files of earlier attempts."""
    path = manifest_path(sink, shard, file_sink=file_sink)
    body = {"format": MANIFEST_FORMAT, "shard": list(shard), **manifest}
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(body, indent=2, default=str) + "\n", encoding="utf-8")
    if not file_sink:
        keep = set(manifest["files"])
        for stale in Path(sink).glob(f"{shard_stem(shard)}-*.parquet"):
            if stale.name not in keep:
                stale.unlink(missing_ok=True)
    return path


def read_manifests(sink) -> list[dict]:
    """The manifests of a sink, in shard order; raises if a shard is missing or they disagree."""
    sink = Path(sink)
    if sink.is_file():
        mpath = manifest_path(sink, (0, 1), file_sink=True)
        if not mpath.exists():
            raise FileNotFoundError(f"{mpath} not found: {sink} was not written by label_dataset (or not finished)")
        return [json.loads(mpath.read_text(encoding="utf-8")) | {"_dir": str(sink.parent), "files": [sink.name]}]
    if not sink.is_dir():
        raise FileNotFoundError(f"no labels at {sink}")
    found = {}
    for p in sorted(sink.iterdir()):
        m = _MANIFEST.match(p.name)
        if m:
            found[(int(m.group(1)), int(m.group(2)))] = json.loads(p.read_text(encoding="utf-8")) | {"_dir": str(sink)}
    if not found:
        raise FileNotFoundError(f"no shard manifest (part-*-of-*.manifest.json) in {sink}")
    counts = {n for _, n in found}
    if len(counts) != 1:
        raise ValueError(f"{sink} mixes shard counts {sorted(counts)}; write all shards with the same N")
    n = counts.pop()
    missing = [i for i in range(n) if (i, n) not in found]
    if missing:
        raise ValueError(f"{sink}: shard(s) {missing} of {n} have no manifest yet (not run, or not finished)")
    versions = {found[(i, n)]["model_version"] for i in range(n)}
    if len(versions) != 1:
        raise ValueError(f"{sink}: shards were scored by different models {sorted(versions)}")
    return [found[(i, n)] for i in range(n)]


def read_labels(sink, columns: list[str] | None = None) -> pa.Table:
    """Every row a (possibly sharded) run wrote to ``sink``, in dataset order, as one table."""
    tables = []
    for m in read_manifests(sink):
        for name in m["files"]:
            tables.append(pq.read_table(os.path.join(m["_dir"], name), columns=columns))
    if not tables:
        return pa.table({})
    return pa.concat_tables(tables, promote_options="default")
