"""Shared test fixtures for the model package."""
from pathlib import Path

import pytest

SHARED_DATA_HEAD = Path(__file__).resolve().parent / "fixtures" / "shared-data-head"
"""The first rows of ../shared/data, committed (fixtures/shared-data-head/README.md)."""


def copy_data_head(dest: Path, vader_lines: int, meld_lines: int) -> str:
    """A labelled-text folder in `dest` holding the first `vader_lines` of every committed VADER
    file and the first `meld_lines` of MELD (header included): the real inputs, small."""
    (dest / "vader").mkdir()
    (dest / "meld").mkdir()
    for f in (SHARED_DATA_HEAD / "vader").iterdir():
        with open(f, encoding="utf-8") as src:
            (dest / "vader" / f.name).write_text("".join(src.readlines()[:vader_lines]), encoding="utf-8")
    with open(SHARED_DATA_HEAD / "meld" / "train_sent_emo.csv", encoding="utf-8") as src:
        (dest / "meld" / "train_sent_emo.csv").write_text("".join(src.readlines()[:meld_lines]), encoding="utf-8")
    return str(dest)


@pytest.fixture(scope="module")
def shared_data_head():
    """Points SHARED_DATA (what sdumc.text_encoder.vader.vader_path reads) at the committed first rows
    for the requesting module: the exporter's int8 fidelity check and the lexicon check read
    VADER tweets, and these are the same rows, so they run from a clone anywhere."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHARED_DATA", str(SHARED_DATA_HEAD))
        yield SHARED_DATA_HEAD
