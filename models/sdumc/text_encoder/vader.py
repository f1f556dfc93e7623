"""VADER tweets: real sentences for the exporter's int8 fidelity check and the benchmarks."""
from __future__ import annotations

import os
from pathlib import Path


def vader_path() -> Path:
    """VADER tweets ground truth (`SHARED_DATA` env, default ../shared/data from the repo)."""
    # parents[4]: text_encoder/ -> sdumc/ -> models/ -> the repository -> the folder beside it
    root = Path(os.environ.get("SHARED_DATA", Path(__file__).resolve().parents[4] / "shared" / "data"))
    path = root / "vader" / "tweets_GroundTruth.tsv"
    if not path.is_file():
        raise FileNotFoundError(f"VADER data not found at {path} (set SHARED_DATA)")
    return path


def vader_texts(n: int) -> list[str]:
    """First `n` tweets of the VADER ground truth (real sentences for checks and benchmarks)."""
    path = vader_path()
    rows = [line.split("\t", 2)[2].strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
            if line.count("\t") >= 2]
    return [r for r in rows if r][:n]
