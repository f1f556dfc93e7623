"""Generate the multimodal corpus (docs/corpus.md).

    cd models && ../.venv/bin/python -m sdumc.corpus.generate --out corpus/v2 --workers 2

Same --seed, --limit, --sources and --heldout => byte-identical output, whatever --workers.
Train and val rows are spoken by espeak-ng; each test sentence also by the held-out voice
family (Flite) unless --heldout none.
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import multiprocessing as mp
import os
import signal
import sys
import time
from pathlib import Path

from tqdm import tqdm

from . import channel as ch
from . import coupling
from .errors import CorpusError
from .layout import FEATURES, FEATURE_DIM, FORMAT, FPS, SAMPLE_RATE
from .sources import (MELD_FILE, MELD_VALENCE, SOURCES, SPLIT_RATIOS, VADER_FILES, VADER_SCALE,
                      Item, load_items)
from .writer import CorpusWriter

REPO = Path(__file__).resolve().parents[3]
DEFAULT_DATA = REPO.parent / "shared" / "data"
"""Input texts: ../shared/data relative to the repository root."""

DEFAULT_OUT = REPO / "models" / "corpus" / "v2"
"""Output folder (git-ignored). v2 = v1 (same espeak-ng bytes) + held-out-voice test rows."""

HELDOUT_CHOICES = ("flite", "none")
"""--heldout: render test sentences also with Flite (default), or not at all (v1's rows)."""

DEFAULT_WORKERS = 2
"""Worker processes; each holds one espeak-ng and forks a child per utterance."""


def select(items: list[Item], limit: int | None, max_words: int | None = None,
           balanced: bool = False) -> list[Item]:
    """Items of at most `max_words` words, then the first `limit` of them by sha1 of their id
    (a spread that is the same for every seed), kept in source order. With `balanced`, taken
    round-robin over the (subset, split) strata instead, so small test sets hold every
    source and split. All items without limits."""
    if max_words is not None:
        items = [it for it in items if len(it.text.split()) <= max_words]
    if limit is None or limit >= len(items):
        return items
    order = sorted(range(len(items)), key=lambda i: hashlib.sha1(items[i].id.encode()).digest())
    if balanced:
        strata = collections.defaultdict(list)
        for i in order:
            strata[(items[i].subset, items[i].split)].append(i)
        queues = [strata[k] for k in sorted(strata)]
        order = [q[j] for j in range(max(map(len, queues))) for q in queues if j < len(q)]
    keep = set(order[:limit])
    return [it for i, it in enumerate(items) if i in keep]


_tts = None
_flite = None
_seed = 0


def _init_worker(seed: int, heldout: str) -> None:
    global _tts, _flite, _seed
    from . import tts, tts_flite
    _tts, _seed = tts.shared(), seed
    _flite = tts_flite.shared() if heldout == "flite" else None


def _work(item: Item):
    from .synth import make_rows
    return make_rows(item, _seed, _tts, _flite)


def _file_digests(data_dir: str, sources) -> dict:
    names = []
    if "vader" in sources:
        names += [os.path.join("vader", f) for f in VADER_FILES.values()]
    if "meld" in sources:
        names.append(os.path.join("meld", MELD_FILE))
    out = {}
    for n in names:
        with open(os.path.join(data_dir, n), "rb") as f:
            out[n] = hashlib.sha256(f.read()).hexdigest()
    return out


def generate(data_dir: str, out_dir: str, seed: int, limit: int | None, workers: int,
             sources, force: bool, progress: bool = True, max_words: int | None = None,
             balanced: bool = False, heldout: str = "flite") -> dict:
    """Generate a corpus; returns its corpus.json dict. Raises CorpusError on bad input.
    `limit` counts sentences: with `heldout` "flite" each test sentence gives two rows."""
    if heldout not in HELDOUT_CHOICES:
        raise CorpusError(f"--heldout must be one of {', '.join(HELDOUT_CHOICES)}")
    items, stats = load_items(data_dir, tuple(sources))
    items = select(items, limit, max_words, balanced)
    if not items:
        raise CorpusError("no utterances selected (check --sources, --max-words)")
    writer = CorpusWriter(out_dir, force)
    counts = collections.Counter()
    sums = collections.Counter()
    bar = tqdm(total=len(items), unit="utt", disable=not progress, smoothing=0.05)
    try:
        if workers == 1:
            _init_worker(seed, heldout)
            results = map(_work, items)
            pool = None
        else:
            pool = mp.get_context("fork").Pool(workers, _init_worker, (seed, heldout))
            results = pool.imap(_work, items, chunksize=4)
        for rows in results:
            for row, pcm, video in rows:
                writer.add(row, pcm, video)
                fam = row["voice_family"]
                counts[f"{fam}.{row['split']}"] += 1
                counts[f"voice_family.{fam}"] += 1
                if fam != "espeak":
                    continue        # split/subset/label counts are of in-family rows, as in v1
                counts[row["split"]] += 1
                counts[f"{row['split']}.{row['subset']}"] += 1
                counts[f"label3.{row['label3']}"] += 1
                sums["voice_disagree"] += row["voice_disagree"]
                sums["face_disagree"] += row["face_disagree"]
                sums["dropped_frames"] += row["dropped_frames"]
                sums["frames"] += video.shape[0]
            bar.update(1)
        if pool is not None:
            pool.close()
            pool.join()
    except BaseException:
        writer.abort()
        if workers != 1 and pool is not None:
            pool.terminate()
        raise
    finally:
        bar.close()
    n = max(counts["voice_family.espeak"], 1)
    info = {
        "format": FORMAT, "seed": seed, "limit": limit, "max_words": max_words,
        "balanced": balanced, "sources": list(sources),
        "voice_families": {"in_family": "espeak", "heldout": None if heldout == "none" else heldout,
                           "heldout_splits": [] if heldout == "none" else ["test"],
                           "heldout_voices": [] if heldout == "none"
                           else sorted(coupling.HELDOUT["voices"])},
        "data_files_sha256": _file_digests(data_dir, sources),
        "sample_rate": SAMPLE_RATE, "fps": FPS, "feature_dim": FEATURE_DIM,
        "features": list(FEATURES),
        "split_ratios": dict(SPLIT_RATIOS), "split_rule": "sha1(normalised text)",
        "vader_scale": VADER_SCALE, "meld_valence": MELD_VALENCE,
        "channel": {"ref_dbfs": ch.REF_DBFS, "band_hz": ch.BAND_HZ, "snrs_db": ch.SNRS_DB,
                    "noise_kinds": ch.NOISE_KINDS, "mulaw_share": ch.MULAW_SHARE,
                    "tel_rate": ch.TEL_RATE},
        "coupling": coupling.table(),
        "text_stats": stats,
        "counts": dict(sorted(counts.items()), total=writer.count),
        "audio_samples": writer.samples, "audio_hours": round(writer.samples / SAMPLE_RATE
                                                                / 3600, 3),
        "video_frames": writer.frames,
        "observed": {"voice_disagree_share": round(sums["voice_disagree"] / n, 4),
                     "face_disagree_share": round(sums["face_disagree"] / n, 4),
                     "dropped_frame_share": round(sums["dropped_frames"]
                                                  / max(sums["frames"], 1), 4)},
    }
    writer.close(info)
    return info


def _sources(s: str) -> tuple:
    out = tuple(x.strip() for x in s.split(",") if x.strip())
    bad = [x for x in out if x not in SOURCES]
    if bad or not out:
        raise argparse.ArgumentTypeError(f"unknown source(s) {bad or s!r}; choose from "
                                         f"{','.join(SOURCES)}")
    return out


def _positive(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not an integer") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def _seed_arg(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not an integer") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {v}")
    return v


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m sdumc.corpus.generate",
                                description="Generate the multimodal corpus (docs/corpus.md).")
    p.add_argument("--data", default=str(DEFAULT_DATA),
                   help="folder with vader/ and meld/ (default: ../shared/data from the repo)")
    p.add_argument("--out", default=str(DEFAULT_OUT),
                   help="output folder (default: models/corpus/v2)")
    p.add_argument("--seed", type=_seed_arg, default=0, help="random seed (default 0)")
    p.add_argument("--limit", type=_positive, default=None,
                   help="generate only this many sentences (a fixed spread; a test sentence gives two "
                        "rows with --heldout flite; default all)")
    p.add_argument("--max-words", type=_positive, default=None,
                   help="keep only texts of at most this many words (default all)")
    p.add_argument("--balanced", action="store_true",
                   help="with --limit: take utterances round-robin over (subset, split)")
    p.add_argument("--workers", type=_positive, default=DEFAULT_WORKERS,
                   help=f"worker processes (default {DEFAULT_WORKERS})")
    p.add_argument("--sources", type=_sources, default=SOURCES,
                   help="comma-separated: vader,meld (default both)")
    p.add_argument("--heldout", choices=HELDOUT_CHOICES, default="flite",
                   help="also speak each test sentence with this held-out voice family "
                        "(default flite; none: in-family rows only, as corpus v1)")
    p.add_argument("--force", action="store_true", help="overwrite an existing corpus in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p.parse_args(argv)


def _interrupt(_signum, _frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    a = parse_args(argv)
    t0 = time.time()
    if __name__ == "__main__":  # SIGTERM cleans up like Ctrl-C (partial files removed)
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        info = generate(a.data, a.out, a.seed, a.limit, a.workers, a.sources, a.force,
                        progress=not a.quiet, max_words=a.max_words,
                        balanced=a.balanced, heldout=a.heldout)
    except CorpusError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; partial files removed", file=sys.stderr)
        return 130
    c = info["counts"]
    print(f"wrote {c['total']} rows: {c.get('train', 0)} train / {c.get('val', 0)} val / "
          f"{c.get('test', 0)} test in-family + {c.get('voice_family.flite', 0)} held-out-voice "
          f"test, {info['audio_hours']} h audio, "
          f"{info['video_frames']} frames to {a.out} in {time.time() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
