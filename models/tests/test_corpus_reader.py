"""CorpusReader on the committed mini fixture, and its errors on broken corpora."""
import json
import os
import shutil

import numpy as np
import pytest

from sdumc.corpus.errors import CorpusError
from sdumc.corpus.layout import FEATURE_DIM, SAMPLE_RATE, SAMPLES_PER_FRAME, SPLITS
from sdumc.corpus.reader import CorpusReader

MINI = os.path.join(os.path.dirname(__file__), "..", "fixtures", "corpus-mini")


@pytest.fixture(scope="module")
def mini():
    return CorpusReader(MINI)


def test_mini_has_every_source_and_split(mini):
    # 60 sentences in-family (espeak-ng) + a held-out-voice (Flite) twin of each of the 20 test ones
    assert len(mini) == 80
    assert {r["subset"] for r in mini.rows} == {"movie", "tweets", "nyt", "meld"}
    assert sorted(i for s in SPLITS for i in mini.split(s)) == list(range(80))
    for s in SPLITS:
        assert mini.split(s, "espeak"), s
    assert len(mini.split("test", "flite")) == len(mini.split("test", "espeak")) == 20
    assert mini.split("train", "flite") == mini.split("val", "flite") == []
    assert mini.families == ["espeak", "flite"]


def test_heldout_rows_twin_their_test_sentence(mini):
    by_id = {r["id"]: r for r in mini.rows}
    for i in mini.split("test", "flite"):
        h = mini.rows[i]
        twin = by_id[h["sentence_id"]]          # stored right before it
        assert h["id"] == h["sentence_id"] + "~flite" and mini.rows[i - 1] is twin
        assert twin["voice_family"] == "espeak" and twin["split"] == "test"
        for k in ("text", "valence", "label3", "speaker", "prosody", "voice_label3",
                  "voice_emotion", "face_label3", "snr_db", "noise", "mulaw"):
            assert h[k] == twin[k], k            # same draws, only the voice differs
        assert h["voice"] in ("kal16", "awb", "slt") and "+" in twin["voice"]
        assert set(h["flite"]) == {"f0_mean_hz", "f0_sd_hz", "duration_stretch"}


def test_format_1_corpus_reads_as_all_in_family(tmp_path):
    dst = _copy(tmp_path)
    info = json.loads((dst / "corpus.json").read_text())
    (dst / "corpus.json").write_text(json.dumps(dict(info, format=1)))
    rows = [json.loads(x) for x in (dst / "meta.jsonl").read_text().splitlines()]
    rows = [{k: v for k, v in r.items() if k not in ("voice_family", "sentence_id")}
            for r in rows if "~" not in r["id"]]
    (dst / "meta.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    c = CorpusReader(dst)
    assert c.families == ["espeak"] and len(c.split("test", "espeak")) == 20
    assert all(r["sentence_id"] == r["id"] for r in c.rows)


def test_heldout_voice_outside_test_is_refused(tmp_path):
    dst = _copy(tmp_path)
    lines = (dst / "meta.jsonl").read_text().splitlines()
    k = next(n for n, x in enumerate(lines) if json.loads(x)["split"] == "train")
    row = json.loads(lines[k])
    lines[k] = json.dumps(dict(row, voice_family="flite"))
    (dst / "meta.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(CorpusError, match=f"meta.jsonl:{k + 1}: held-out voice row in split 'train'"):
        CorpusReader(dst)
    with pytest.raises(CorpusError, match="unknown voice family 'festival'"):
        CorpusReader(MINI).split("test", "festival")


def test_audio_and_video_shapes_and_ranges(mini):
    for i in range(len(mini)):
        a, v, r = mini.audio(i), mini.video(i), mini.rows[i]
        assert a.dtype == np.float32 and a.ndim == 1 and len(a) == r["audio_len"]
        assert np.abs(a).max() <= 1.0 and np.abs(a).max() > 0.01
        assert v.dtype == np.float32 and v.shape == (r["video_frames"], FEATURE_DIM)
        # frames span the audio: ceil(samples / 1600) at 10 fps
        assert r["video_frames"] == -(-r["audio_len"] // SAMPLES_PER_FRAME)
        assert np.all(np.isfinite(v))
        lost = v[:, 23] == 0
        assert np.all(v[lost] == 0) and lost.sum() == r["dropped_frames"]
        assert -3 <= r["valence"] <= 3 and r["text"]
    assert mini.info["sample_rate"] == SAMPLE_RATE


def test_offsets_tile_the_files_without_gaps(mini):
    a_end = v_end = 0
    for r in mini.rows:
        assert r["audio_offset"] == a_end and r["video_offset"] == v_end
        a_end += r["audio_len"]
        v_end += r["video_frames"]
    assert a_end * 2 == os.path.getsize(os.path.join(MINI, "audio.i16"))
    assert v_end * FEATURE_DIM * 2 == os.path.getsize(os.path.join(MINI, "video.f16"))


def test_unknown_split_is_a_clear_error(mini):
    with pytest.raises(CorpusError, match="unknown split 'dev'"):
        mini.split("dev")


def test_missing_folder_and_files(tmp_path):
    with pytest.raises(CorpusError, match="corpus folder not found"):
        CorpusReader(tmp_path / "nope")
    with pytest.raises(CorpusError, match="corpus file missing: .*corpus.json"):
        CorpusReader(tmp_path)


def _copy(tmp_path):
    dst = tmp_path / "c"
    shutil.copytree(MINI, dst)
    return dst


def test_truncated_audio_is_detected(tmp_path):
    dst = _copy(tmp_path)
    p = dst / "audio.i16"
    p.write_bytes(p.read_bytes()[:-2000])
    with pytest.raises(CorpusError, match="audio.i16 .* is truncated"):
        CorpusReader(dst)


def test_other_format_and_bad_rows_are_refused(tmp_path):
    dst = _copy(tmp_path)
    info = json.loads((dst / "corpus.json").read_text())
    (dst / "corpus.json").write_text(json.dumps(dict(info, format=99)))
    with pytest.raises(CorpusError, match="format 99 is not supported"):
        CorpusReader(dst)
    (dst / "corpus.json").write_text(json.dumps(info))
    lines = (dst / "meta.jsonl").read_text().splitlines()
    row = json.loads(lines[3])
    del row["audio_len"]
    lines[3] = json.dumps(row)
    (dst / "meta.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(CorpusError, match=r"meta.jsonl:4: row lacks audio_len"):
        CorpusReader(dst)


def test_reader_cli_checks_and_summarises(capsys, tmp_path):
    from sdumc.corpus.reader import main
    assert main([MINI]) == 0
    out = capsys.readouterr().out
    assert '"utterances": 80' in out and '"flite": 20' in out
    assert main([str(tmp_path)]) == 2
    assert "error: corpus file missing" in capsys.readouterr().err
