"""The generator CLI: reproducibility, by-sentence splits, clear errors on bad input."""
import os
import subprocess
import sys

import numpy as np
import pytest

from sdumc.corpus import generate as G
from sdumc.corpus.errors import CorpusError
from sdumc.corpus.reader import CorpusReader
from conftest import copy_data_head
from sdumc.corpus.sources import SPLIT_RATIOS, load_items, load_vader, normalise, split_of

DATA = os.environ.get("SHARED_DATA") or str(G.DEFAULT_DATA)
"""The full input texts (SHARED_DATA, default ../shared/data): only the corpus-rebuild tests."""


@pytest.fixture(scope="module")
def all_items():
    """Every input sentence. A test that needs them is a corpus-rebuild test: without the data it
    fails under CI=true (a CI run must not pass by skipping it) and skips with the reason elsewhere."""
    if not os.path.isdir(DATA):
        why = (f"corpus-rebuild test: needs the full shared data at {DATA} (set SHARED_DATA); "
               "the committed fixtures hold only the first rows")
        if os.environ.get("CI") == "true":
            pytest.fail(why + " [CI=true: failing instead of skipping]")
        pytest.skip(why)
    return load_items(DATA)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    """A copy of the first 40 lines of every input file: the generator's real inputs, fast."""
    return copy_data_head(tmp_path_factory.mktemp("data"), 40, 80)


def _files(d):
    return {n: (d / n).read_bytes() for n in ("corpus.json", "meta.jsonl", "audio.i16",
                                              "video.f16")}


def test_same_seed_same_bytes_whatever_the_workers(tmp_path, tiny_data):
    args = ["--data", tiny_data, "--limit", "4", "--max-words", "5", "--balanced", "--quiet"]
    assert G.main(args + ["--out", str(tmp_path / "a"), "--workers", "1"]) == 0
    assert G.main(args + ["--out", str(tmp_path / "b"), "--workers", "2"]) == 0
    assert G.main(args + ["--out", str(tmp_path / "c"), "--workers", "1", "--seed", "1"]) == 0
    a, b, c = (_files(tmp_path / x) for x in "abc")
    assert a == b
    assert a["audio.i16"] != c["audio.i16"] and a["video.f16"] != c["video.f16"]
    # same sentences and splits under another seed: only the synthesis differs
    ra, rc = CorpusReader(tmp_path / "a"), CorpusReader(tmp_path / "c")
    assert [(r["id"], r["split"]) for r in ra.rows] == [(r["id"], r["split"]) for r in rc.rows]


def test_heldout_family_adds_test_twins_and_leaves_in_family_bytes_alone(tmp_path, tiny_data):
    """Loading Flite must not move libc's rand() state that espeak-ng's female voices draw
    breath noise from: every espeak-ng row is byte-identical with and without --heldout."""
    # fresh processes: this one's engines (module singletons) may already have touched rand()
    args = [sys.executable, "-m", "sdumc.corpus.generate", "--data", tiny_data, "--limit", "12",
            "--max-words", "8", "--balanced", "--quiet", "--workers", "1"]
    cwd = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(G.__file__))))
    for out, extra in (("h", []), ("n", ["--heldout", "none"])):
        subprocess.run(args + ["--out", str(tmp_path / out)] + extra, check=True, cwd=cwd)
    h, n = CorpusReader(tmp_path / "h"), CorpusReader(tmp_path / "n")
    assert n.families == ["espeak"] and h.families == ["espeak", "flite"]
    assert any("+f" in r["voice"] for r in n.rows)      # the rand()-sensitive voices are in
    ih = h.split("train") + h.split("val") + h.split("test", "espeak")
    assert sorted(h.rows[i]["id"] for i in ih) == sorted(r["id"] for r in n.rows)
    pos = {r["id"]: i for i, r in enumerate(n.rows)}
    for i in ih:
        j = pos[h.rows[i]["id"]]
        assert np.array_equal(h.audio(i), n.audio(j)) and np.array_equal(h.video(i), n.video(j))
    tests = {h.rows[i]["sentence_id"] for i in h.split("test", "espeak")}
    assert tests and {h.rows[i]["sentence_id"] for i in h.split("test", "flite")} == tests
    assert h.info["voice_families"]["heldout"] == "flite" and h.info["coupling"]["version"] == "c2"
    assert h.info["counts"]["voice_family.flite"] == len(tests)


def test_splits_are_by_sentence_and_near_the_documented_ratios(all_items):
    items, stats = all_items
    assert stats["kept"] == len(items) > 25000
    keys = {}
    for it in items:
        k = normalise(it.text)
        assert k not in keys, f"duplicate sentence kept: {it.text!r}"
        keys[k] = it.split
        assert it.split == split_of(it.text)
    share = {s: sum(it.split == s for it in items) / len(items) for s, _ in SPLIT_RATIOS}
    for s, want in SPLIT_RATIOS:
        assert abs(share[s] - want) < 0.015, (s, share[s])


def test_split_depends_only_on_the_normalised_sentence():
    assert split_of("The movie was GREAT!!") == split_of("  the movie was great ")
    # pinned: a change to the split rule would silently move sentences between splits
    assert [split_of(f"sentence number {i}") for i in range(8)] == \
        [split_of(f"Sentence number {i}.") for i in range(8)]
    assert split_of("I loved it.") == "train" and split_of("It was awful.") == "test"


def test_missing_data_folder_is_a_clear_cli_error(tmp_path, capsys):
    rc = G.main(["--data", str(tmp_path / "nope"), "--out", str(tmp_path / "o"), "--quiet"])
    assert rc == 2
    assert "error: data folder not found" in capsys.readouterr().err


def test_missing_input_file_names_the_path(tmp_path, capsys):
    (tmp_path / "vader").mkdir()
    rc = G.main(["--data", str(tmp_path), "--out", str(tmp_path / "o"), "--sources", "vader",
                 "--quiet"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "input file not found" in err and "movieReviewSnippets_GroundTruth.tsv" in err
    assert "Traceback" not in err


def test_malformed_vader_line_is_reported_with_file_and_line(tmp_path):
    v = tmp_path / "vader"
    v.mkdir()
    for name in ("movieReviewSnippets", "tweets", "nytEditorialSnippets"):
        (v / f"{name}_GroundTruth.tsv").write_text("1\t1.5\tfine text\n2\tlots\tbad value\n")
    with pytest.raises(CorpusError, match=r"movieReviewSnippets_GroundTruth.tsv:2: valence "
                                          r"'lots' is not a number"):
        load_vader(str(tmp_path))


@pytest.mark.parametrize("argv,needle", [
    (["--sources", "imdb"], "unknown source"),
    (["--limit", "0"], "must be >= 1"),
    (["--workers", "two"], "is not an integer"),
    (["--seed", "-1"], "must be >= 0"),
    (["--heldout", "festival"], "invalid choice"),
])
def test_bad_arguments_exit_2_with_a_message(argv, needle, capsys):
    with pytest.raises(SystemExit) as e:
        G.parse_args(argv)
    assert e.value.code == 2
    assert needle in capsys.readouterr().err


def test_existing_corpus_is_not_overwritten_without_force(tmp_path, capsys, tiny_data):
    args = ["--data", tiny_data, "--out", str(tmp_path), "--limit", "1", "--max-words", "3",
            "--workers", "1", "--quiet"]
    assert G.main(args) == 0
    before = (tmp_path / "audio.i16").read_bytes()
    assert G.main(args) == 2
    assert "pass --force" in capsys.readouterr().err
    assert (tmp_path / "audio.i16").read_bytes() == before
    assert not any(p.name.endswith(".partial") for p in tmp_path.iterdir())


def test_selection_is_stable_and_balanced(all_items):
    items, _ = all_items
    a = G.select(items, 24, max_words=6, balanced=True)
    assert [i.id for i in a] == [i.id for i in G.select(items, 24, max_words=6, balanced=True)]
    assert len({(i.subset, i.split) for i in a}) == 12
    assert all(len(i.text.split()) <= 6 for i in a)
    assert np.all(np.diff([items.index(i) for i in a]) > 0)  # source order kept


def test_two_writers_cannot_share_a_folder(tmp_path):
    from sdumc.corpus.writer import CorpusWriter
    w = CorpusWriter(str(tmp_path), force=False)
    try:
        for _ in range(2):   # a refused writer leaves the holder's lock in place
            with pytest.raises(CorpusError, match="another generator is writing"):
                CorpusWriter(str(tmp_path), force=True)
    finally:
        w.abort()
    CorpusWriter(str(tmp_path), force=False).abort()   # free again after abort
