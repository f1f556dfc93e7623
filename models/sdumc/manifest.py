"""The model contract: build, write and check `models/<version>/manifest.json`.

docs/model-manifest.md is the specification; this module is its Python side (the exporter
writes with it, the tests check with it). The TypeScript scorer validates the same file with
src/score/manifest.ts.
"""
from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime, timezone
from pathlib import Path

FORMAT = 1  # manifest format; bump on any incompatible change

# role -> (graph, direction, dtype, rank): the roles table of docs/model-manifest.md
ROLES: dict[str, tuple[str, str, str, int]] = {
    "text.input_ids": ("textEncoder", "in", "int64", 2),
    "text.attention_mask": ("textEncoder", "in", "int64", 2),
    "text.token_type_ids": ("textEncoder", "in", "int64", 2),
    "text.token_embeddings": ("textEncoder", "out", "float32", 3),
    "audio.pcm": ("fusion", "in", "float32", 2),
    "audio.length": ("fusion", "in", "int64", 1),
    "text.embeddings": ("fusion", "in", "float32", 3),
    "text.mask": ("fusion", "in", "float32", 2),
    "video.frames": ("fusion", "in", "float32", 3),
    "video.mask": ("fusion", "in", "float32", 2),
    "presence": ("fusion", "in", "float32", 2),
    "valence": ("fusion", "out", "float32", 1),
    "alpha": ("fusion", "out", "float32", 2),
    "beta": ("fusion", "out", "float32", 2),
}

# headline metric prefixes copied from metrics.json into the manifest (flattened, numbers only)
HEADLINE_PREFIXES = ("test.full.", "test.text_missing.", "test.video_missing.", "test.audio_only.",
                     "test.naive_zero_text.", "test.text_only.", "vader_heldout.")


def tensor(name: str, role: str, dims: list) -> dict:
    """One graph input/output entry; dtype comes from the role table."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    return {"name": name, "role": role, "dtype": ROLES[role][2], "dims": list(dims)}


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def graph_entry(path: Path, inputs: list[dict], outputs: list[dict]) -> dict:
    """`graphs.<name>` object for the ONNX file at `path` (file name relative to its folder)."""
    path = Path(path)
    return {"file": path.name, "sha256": sha256_file(path), "bytes": path.stat().st_size,
            "inputs": inputs, "outputs": outputs}


def flatten(d: dict, prefix: str = "") -> dict[str, float]:
    """Nested dict -> {"a.b.c": number} for its finite numeric leaves."""
    out: dict[str, float] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        elif isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            out[key] = v
    return out


def headline_metrics(metrics_path: Path) -> dict[str, float]:
    """Headline numbers of metrics.json (flattened keys under HEADLINE_PREFIXES); {} if absent."""
    if not Path(metrics_path).is_file():
        return {}
    flat = flatten(json.loads(Path(metrics_path).read_text()))
    return {k: v for k, v in sorted(flat.items()) if k.startswith(HEADLINE_PREFIXES)}


def now_utc() -> str:
    """ISO-8601 UTC timestamp, seconds precision."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def validate(manifest: dict, folder: Path, check_hashes: bool = True) -> None:
    """Raise ValueError with the first problem found: format, roles (every required role once,
    right dtype and rank, dynamic batch), files present and, optionally, hashes and sizes."""
    def need(cond: bool, msg: str) -> None:
        if not cond:
            raise ValueError(f"manifest invalid: {msg}")

    need(manifest.get("format") == FORMAT, f"format {manifest.get('format')!r} is not {FORMAT}")
    for key in ("version", "labels", "audio", "text", "video", "graphs"):
        need(key in manifest, f"missing {key}")
    seen: set[str] = set()
    for gname, g in manifest["graphs"].items():
        need(gname in ("textEncoder", "fusion"), f"unknown graph {gname}")
        path = Path(folder) / g["file"]
        need(path.is_file(), f"{g['file']} does not exist")
        if check_hashes:
            need(path.stat().st_size == g["bytes"], f"{g['file']} size differs")
            need(sha256_file(path) == g["sha256"], f"{g['file']} sha256 differs")
        for direction, entries in (("in", g["inputs"]), ("out", g["outputs"])):
            for t in entries:
                role = t["role"]
                need(role in ROLES, f"unknown role {role}")
                rg, rd, dtype, rank = ROLES[role]
                need((rg, rd) == (gname, direction), f"role {role} is not a {gname} {direction}put")
                need(t["dtype"] == dtype and len(t["dims"]) == rank, f"role {role} dtype/rank")
                need(t["dims"][0] == "batch", f"role {role} dims[0] must be 'batch'")
                need(role not in seen, f"role {role} listed twice")
                seen.add(role)
    missing = set(ROLES) - seen - {"text.token_type_ids", "beta"}
    need(not missing, f"roles missing: {sorted(missing)}")
    golden = manifest.get("golden")
    need(golden is None or (Path(folder) / golden).is_file(), f"golden file {golden} does not exist")


def write(manifest: dict, folder: Path) -> Path:
    """Validate and write `<folder>/manifest.json` (2-space indent, stable key order)."""
    validate(manifest, folder)
    path = Path(folder) / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return path
