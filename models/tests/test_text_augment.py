"""Distillation's new texts (sdumc.text_augment) and the text-only tools' texts read straight from
the labelled data folder (sdumc.text_tune._texts on ../shared/data instead of a generated corpus)."""
from pathlib import Path

import numpy as np
import pytest

from conftest import copy_data_head
from sdumc.corpus import generate as G
from sdumc.text_augment import augment_texts
from sdumc.text_tune import _texts

TEXTS = ["the film was a joy from start to end", "I hated every minute of it",
         "an ordinary plot, saved by a great cast", "meh", "what a waste of a good evening"]


def test_same_stream_same_texts_and_every_word_comes_from_the_inputs():
    a = augment_texts(TEXTS, 200, np.random.default_rng([2, 0]))
    b = augment_texts(TEXTS, 200, np.random.default_rng([2, 0]))
    c = augment_texts(TEXTS, 200, np.random.default_rng([2, 1]))
    assert a == b and a != c and len(a) == 200
    vocab = {w for t in TEXTS for w in t.split()}
    assert all(t.strip() and set(t.split()) <= vocab for t in a)
    # new texts, not copies: most are none of the inputs, and some are longer than any input
    assert sum(t not in TEXTS for t in a) > 150
    assert max(len(t.split()) for t in a) > max(len(t.split()) for t in TEXTS)


def test_nothing_to_recombine_is_a_clear_error():
    assert augment_texts(TEXTS, 0, np.random.default_rng(0)) == []
    with pytest.raises(ValueError, match="no non-empty texts"):
        augment_texts(["", "  "], 3, np.random.default_rng(0))


@pytest.fixture(scope="module")
def small_data(tmp_path_factory):
    """The first 8 rows of every committed input file."""
    return Path(copy_data_head(tmp_path_factory.mktemp("data"), 8, 12))


def test_texts_from_the_data_folder_equal_the_generated_corpus_texts(small_data, tmp_path):
    """The same texts, labels, splits and subsets, in the same order, as a corpus generated from
    that folder: so held-out samples (seeded by position) are the same either way."""
    assert G.main(["--data", str(small_data), "--out", str(tmp_path / "c"), "--quiet", "--workers", "1"]) == 0
    from_corpus, from_data = _texts(tmp_path / "c"), _texts(small_data)
    assert from_corpus[0] == from_data[0] and len(from_data[0]) > 20
    for a, b in zip(from_corpus[1:], from_data[1:]):
        np.testing.assert_array_equal(a, b)
    assert {"train", "test"} <= set(from_data[2])
