"""Multimodal corpus: real human-labelled texts (VADER, MELD) with synthesised telephone speech
and per-frame facial-expression features, tied to the label only in part. espeak-ng speaks
every split; Flite, the held-out voice family, speaks only the test sentences (again).

- `generate` — the CLI that writes a corpus (docs/corpus.md).
- `reader.CorpusReader` — the one way training code reads a corpus.
- `calls` — the CLI that writes the two-channel demo calls under fixtures/calls/.
"""
