"""Load the real, human-labelled texts: VADER ground truth (continuous valence) and MELD train
(3-class sentiment, 7-class emotion, dialogues). Clean, dedupe by normalised sentence, and
assign each sentence to a split by a hash of its normalised text (docs/corpus.md)."""
from __future__ import annotations

import csv
import hashlib
import html
import os
import re
import unicodedata
from dataclasses import dataclass, field

from .errors import CorpusError
from .layout import label3_of

VADER_FILES = {
    "movie": "movieReviewSnippets_GroundTruth.tsv",
    "tweets": "tweets_GroundTruth.tsv",
    "nyt": "nytEditorialSnippets_GroundTruth.tsv",
}
"""VADER subset name -> file under <data>/vader/."""

MELD_FILE = "train_sent_emo.csv"
"""MELD train split, under <data>/meld/."""

VADER_SCALE = 0.75
"""VADER's -4..+4 ratings times this give the -3..+3 scale of CMU-MOSI/MOSEI."""

MELD_VALENCE = {"negative": -1.5, "neutral": 0.0, "positive": 1.5}
"""Training valence of MELD's 3 classes: the middle of each non-neutral half of -3..+3
(MELD has no intensity); the class itself is kept as `label3`."""

SPLIT_RATIOS = (("train", 0.70), ("val", 0.10), ("test", 0.20))
"""Share of sentences per split; assignment by hash of the normalised text, seed-independent."""

SOURCES = ("vader", "meld")


@dataclass
class Item:
    """One utterance to generate, before synthesis."""
    id: str                  # stable across runs: "vader-movie-17", "meld-d12-u3"
    source: str              # "vader" | "meld"
    subset: str              # "movie" | "tweets" | "nyt" | "meld"
    text: str                # cleaned text, as spoken and as the text encoder sees it
    valence: float           # -3..+3
    label3: str              # negative | neutral | positive
    speaker: str             # MELD speaker name, or a synthetic VADER speaker
    split: str = ""
    emotion: str | None = None   # MELD 7-class emotion; None for VADER
    extra: dict = field(default_factory=dict)  # MELD dialogue/utterance ids


def clean_text(text: str) -> str:
    """Text as spoken: HTML entities decoded, VADER's '' quotes made ", a space restored after
    sentence punctuation glued to the next word (MELD's "you!I"), space before final
    punctuation removed (MELD's "stupid ."), whitespace collapsed."""
    t = html.unescape(text).replace("''", '"').replace("\u2019", "'")
    t = re.sub(r"([a-z][!?.])(?=[A-Z])", r"\1 ", t)
    t = re.sub(r"\s+([.!?,;:])(?=\s|$)", r"\1", t)
    return re.sub(r"\s+", " ", t).strip()


def normalise(text: str) -> str:
    """Key for dedupe and split: NFKC, lower case, letters and digits only, single spaces."""
    t = unicodedata.normalize("NFKC", text).lower()
    t = re.sub(r"[^\w]+", " ", t)
    return re.sub(r"\s+", " ", t).strip()


def split_of(text: str) -> str:
    """Split of a sentence: sha1 of its normalised text mapped to [0, 1) against SPLIT_RATIOS.
    The same sentence always lands in the same split, whatever the seed or source."""
    h = hashlib.sha1(normalise(text).encode("utf-8")).digest()
    u = int.from_bytes(h[:8], "big") / 2.0 ** 64
    acc = 0.0
    for name, share in SPLIT_RATIOS:
        acc += share
        if u < acc:
            return name
    return SPLIT_RATIOS[-1][0]


def stable_hash(s: str) -> int:
    """A 32-bit hash of a string that does not change between runs (unlike hash())."""
    return int.from_bytes(hashlib.sha1(s.encode("utf-8")).digest()[:4], "big")


VADER_SPEAKERS = 64
"""VADER texts have no speaker; each gets one of this many synthetic speakers (by id hash)."""


def _need(path: str) -> str:
    if not os.path.isfile(path):
        raise CorpusError(f"input file not found: {path}")
    return path


def load_vader(data_dir: str) -> list[Item]:
    """All VADER sentences, valence rescaled x0.75 to -3..+3, in file order."""
    items = []
    for subset, name in VADER_FILES.items():
        path = _need(os.path.join(data_dir, "vader", name))
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                line = line.rstrip("\n")
                if not line.strip():
                    continue
                parts = line.split("\t")
                if len(parts) != 3:
                    raise CorpusError(f"{path}:{n}: expected id<TAB>valence<TAB>text, "
                                      f"got {len(parts)} fields")
                sid, val, text = parts
                try:
                    v = float(val) * VADER_SCALE
                except ValueError:
                    raise CorpusError(f"{path}:{n}: valence {val!r} is not a number") from None
                if not -3.0 <= v <= 3.0:
                    raise CorpusError(f"{path}:{n}: valence {val} is outside -4..+4")
                iid = f"vader-{subset}-{sid}"
                spk = f"vader-spk{stable_hash(iid) % VADER_SPEAKERS:02d}"
                items.append(Item(iid, "vader", subset, clean_text(text), round(v, 4),
                                  label3_of(v), spk))
    return items


MELD_COLUMNS = ("Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID", "Utterance_ID")


def load_meld_rows(data_dir: str) -> list[dict]:
    """MELD train rows as dicts of the CSV's columns (checked)."""
    path = _need(os.path.join(data_dir, "meld", MELD_FILE))
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in MELD_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise CorpusError(f"{path}: missing columns {', '.join(missing)}")
        rows = list(reader)
    for n, r in enumerate(rows, 2):
        if r["Sentiment"] not in MELD_VALENCE:
            raise CorpusError(f"{path}:{n}: unknown sentiment {r['Sentiment']!r}")
    return rows


def load_meld(data_dir: str) -> list[Item]:
    """All MELD train utterances, valence from MELD_VALENCE, class and emotion kept."""
    items = []
    for r in load_meld_rows(data_dir):
        d, u = int(r["Dialogue_ID"]), int(r["Utterance_ID"])
        items.append(Item(f"meld-d{d}-u{u}", "meld", "meld", clean_text(r["Utterance"]),
                          MELD_VALENCE[r["Sentiment"]], r["Sentiment"],
                          f"meld:{r['Speaker'].strip()}", emotion=r["Emotion"],
                          extra={"dialogue_id": d, "utterance_id": u}))
    return items


def load_items(data_dir: str, sources=SOURCES) -> tuple[list[Item], dict]:
    """Items of the chosen sources, deduped by normalised text (first kept, in the order
    VADER movie, tweets, nyt, MELD), empty texts dropped, each given its split.
    Returns (items, stats)."""
    if not os.path.isdir(data_dir):
        raise CorpusError(f"data folder not found: {data_dir}")
    unknown = [s for s in sources if s not in SOURCES]
    if unknown or not sources:
        raise CorpusError(f"unknown source(s) {unknown or sources}; expected some of "
                          f"{', '.join(SOURCES)}")
    raw: list[Item] = []
    if "vader" in sources:
        raw += load_vader(data_dir)
    if "meld" in sources:
        raw += load_meld(data_dir)
    seen: set[str] = set()
    items, dup, empty = [], 0, 0
    for it in raw:
        key = normalise(it.text)
        if not key:
            empty += 1
            continue
        if key in seen:
            dup += 1
            continue
        seen.add(key)
        it.split = split_of(it.text)
        items.append(it)
    return items, {"read": len(raw), "duplicates_dropped": dup, "empty_dropped": empty,
                   "kept": len(items)}
