"""Writes test/score/tokenizer-parity.json: texts and the ids the Rust `tokenizers` library gives
them with the model's tokenizer.json (truncation on, padding off). tokenizer.test.ts checks that
the Node tokenizer gives the same ids.

  .venv/bin/python test/score/make_tokenizer_fixture.py models/sdumc-v1/tokenizer.json
"""
import csv
import json
import random
import sys
from pathlib import Path

from tokenizers import Tokenizer

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def main() -> None:
    if len(sys.argv) != 2 or not Path(sys.argv[1]).is_file():
        sys.exit("usage: make_tokenizer_fixture.py <tokenizer.json>")
    tok = Tokenizer.from_file(sys.argv[1])
    tok.no_padding()
    rng = random.Random(7)
    meld = [r["Utterance"] for r in csv.DictReader(open(DATA / "meld" / "train_sent_emo.csv", encoding="utf-8"))]
    tweets = [l.split("\t")[2].strip() for l in open(DATA / "vader" / "tweets_GroundTruth.tsv", encoding="utf-8", errors="replace") if l.count("\t") >= 2]
    texts = rng.sample(meld, 40) + rng.sample(tweets, 40) + [
        "Café naïve résumé — “quotes” ½ 東京 😀 emoji",
        "x " * 200,  # truncated to maxTokens
        " ".join(rng.sample(meld, 12)),  # truncated, real words
        "   leading and trailing spaces   ",
        "Don't STOP me nooow!!! $19.99 on 12/03",
    ]
    out = {"tokenizer": Path(sys.argv[1]).name, "maxTokens": tok.truncation["max_length"] if tok.truncation else None,
           "texts": texts, "ids": [e.ids for e in tok.encode_batch(texts)]}
    dst = Path(__file__).with_name("tokenizer-parity.json")
    dst.write_text(json.dumps(out, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {dst} ({len(texts)} texts, maxTokens {out['maxTokens']})")


if __name__ == "__main__":
    main()
