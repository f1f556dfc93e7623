"""Shared test fixtures for the model package."""
from pathlib import Path

import pytest

SHARED_DATA_HEAD = Path(__file__).resolve().parent / "fixtures" / "shared-data-head"
"""The first rows of ../shared/data, committed (fixtures/shared-data-head/README.md)."""


@pytest.fixture(scope="module")
def shared_data_head():
    """Points SHARED_DATA (what sdumc.text_encoder.vader.vader_path reads) at the committed first rows
    for the requesting module: the exporter's int8 fidelity check and the lexicon check read
    VADER tweets, and these are the same rows, so they run from a clone anywhere."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHARED_DATA", str(SHARED_DATA_HEAD))
        yield SHARED_DATA_HEAD
