"""The VADER rows a Python bench reads, from a clone without ../shared/data.

The benches that time real sentences (model_throughput.py, text_encoder_kernels.py) read the
first few hundred VADER tweets through sdumc.text_encoder.vader (`SHARED_DATA`, default
../shared/data beside the repository). A clone elsewhere has no such folder; the first 300 lines
of the same file are committed byte for byte in models/tests/fixtures/shared-data-head (its
README), and both benches take their sentences from within those lines, so pointing
`SHARED_DATA` there times the same texts.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

HEAD = Path(__file__).resolve().parent.parent / "models" / "tests" / "fixtures" / "shared-data-head"


def use_committed_head_if_absent() -> None:
    """Point SHARED_DATA at the committed first rows when the VADER file is not found."""
    from sdumc.text_encoder.vader import vader_path

    try:
        vader_path()
    except FileNotFoundError:
        os.environ["SHARED_DATA"] = str(HEAD)
        print(f"note: no VADER data at SHARED_DATA/../shared/data; using the committed first rows in {HEAD}",
              file=sys.stderr)
