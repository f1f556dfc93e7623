"""Speech model (issue 12): CTranslate2 reader, torch Whisper vs CTranslate2, log-mel vs
faster-whisper, the committed int8 graphs vs the golden record, and the export end to end."""
import json
from pathlib import Path

import numpy as np
import pytest

from sdumc.metrics import word_errors
from sdumc.speech import export as ex
from sdumc.speech.ct2 import read_ct2
from sdumc.speech.decode import cut_repetition, repeating_tail, token_budget
from sdumc.speech.golden import CLIPS, cosine_rows, read_wav
from sdumc.speech.mel import log_mel, with_context
from sdumc.speech.model import load_whisper
from sdumc.speech.recognise import encode_onnx, transcribe_ct2, transcribe_onnx, transcribe_torch

ctranslate2 = pytest.importorskip("ctranslate2")  # the reference: a test-only dependency

SPEECH = Path(__file__).resolve().parent.parent / "speech-whisper-tiny-en"
GOLDEN = json.loads((SPEECH / "golden" / "golden.json").read_text())
# The int8 graphs quantise activations per run, so another CPU's float kernels can move the
# states a little (test/score/speech-golden.test.ts measures Node against this record).
INT8_STATES_ABS = 0.05


@pytest.fixture(scope="module")
def torch_model():
    return load_whisper(ex.package_dir() / "model.bin")


def _states(clip: dict, kind: str) -> np.ndarray:
    return np.fromfile(SPEECH / "golden" / f"{clip['name']}.{kind}.f32", np.float32).reshape(clip["frames"], -1)


def _session(path: Path):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def test_ct2_reader_reads_every_tensor_and_rejects_a_truncated_file(tmp_path):
    m = read_ct2(ex.package_dir() / "model.bin")
    assert (m.spec, m.revision) == ("WhisperSpec", 3)
    assert m.variables["encoder/layer_0/self_attention/linear_0/weight"].shape == (1152, 384)  # fused QKV
    assert m.variables["decoder/projection/weight"] is m.variables["decoder/embeddings/weight"]  # an alias
    cut = tmp_path / "model.bin"
    cut.write_bytes((ex.package_dir() / "model.bin").read_bytes()[:1000])
    with pytest.raises(ValueError, match="ends at byte"):
        read_ct2(cut)


def test_log_mel_matches_faster_whisper_and_the_committed_record():
    from faster_whisper.feature_extractor import FeatureExtractor

    fe = FeatureExtractor()
    for clip in GOLDEN["clips"]:
        audio = read_wav(SPEECH / "golden" / f"{clip['name']}.wav")
        ours = log_mel(audio)
        theirs = fe(audio, padding=0)
        n = len(audio) // 160 - 1  # frames before our zero-padding to whole 20 ms encoder frames
        assert np.abs(ours[:, :n] - theirs[:, :n]).max() < 1e-4
        recorded = np.fromfile(SPEECH / "golden" / f"{clip['name']}.mel.f32", np.float32).reshape(80, -1)
        assert np.array_equal(log_mel(with_context(audio, clip["minContextSeconds"])), recorded)


def test_torch_whisper_matches_ctranslate2_states_and_tokens(torch_model):
    rules = ex.decode_rules()
    for clip in GOLDEN["clips"]:
        audio, ctx = read_wav(SPEECH / "golden" / f"{clip['name']}.wav"), clip["minContextSeconds"]
        ref = transcribe_ct2(str(ex.package_dir()), audio, rules, ctx)
        got = transcribe_torch(torch_model, audio, rules, ctx)
        assert got.tokens == ref.tokens == clip["tokens"], clip["name"]
        assert np.abs(got.states - ref.states).max() < 1e-3  # fp16 weights, float32 math in both


def test_committed_int8_graphs_reproduce_the_golden_record(torch_model):
    enc, dec = _session(SPEECH / ex.ENCODER_FILE), _session(SPEECH / ex.DECODER_FILE)
    rules = ex.decode_rules()
    edits = 0
    for clip in GOLDEN["clips"]:
        audio = read_wav(SPEECH / "golden" / f"{clip['name']}.wav")
        got = transcribe_onnx(enc, dec, audio, rules, clip["minContextSeconds"])
        assert got.tokens == clip["int8Tokens"], clip["name"]
        edits += word_errors(clip["text"], clip["int8Text"])[0]
        assert np.abs(got.states - _states(clip, "states-int8")).max() < INT8_STATES_ABS
        assert np.array_equal(encode_onnx(enc, audio, clip["minContextSeconds"]), got.states)
        cos = (got.states * _states(clip, "states")).sum(-1) / (
            np.linalg.norm(got.states, axis=-1) * np.linalg.norm(_states(clip, "states"), axis=-1))
        assert cos.mean() > 0.99, clip["name"]
    # The int8 logits may pick the other of two near-tied tokens (the 7-bit token table, docs/model.md:
    # 113 of 160 held-out sentences decode identically, WER equal): at most 3 words in the ~30.
    assert edits <= 3, f"int8 vs float transcripts: {edits} word edits"


def test_committed_manifest_hashes_sizes_and_provenance():
    m = json.loads((SPEECH / "manifest.json").read_text())
    for g in m["graphs"].values():
        p = SPEECH / g["file"]
        assert p.stat().st_size == g["bytes"] < 30e6 and ex.sha256(p) == g["sha256"]
    assert ex.sha256(SPEECH / "tokenizer.json") == m["tokenizer"]["sha256"]
    assert m["provenance"] == ex.provenance(ex.package_dir())
    assert {p["file"].split("/")[-1] for p in m["provenance"]} >= {"model.bin", "tokenizer.json", "config.json"}
    assert set(CLIPS) == {c["name"] for c in GOLDEN["clips"]}


def test_committed_int8_weights_are_uint8_so_no_cpu_saturates():
    """U8S8 int8 kernels saturate on x86 CPUs without VNNI (docs/model.md): every MatMulInteger
    weight must be uint8, and the decoder's token table 7-bit (bytes <= 127)."""
    import onnx
    from onnx import TensorProto, numpy_helper

    for f in (ex.ENCODER_FILE, ex.DECODER_FILE):
        g = onnx.load(str(SPEECH / f)).graph
        inits = {t.name: t for t in g.initializer}
        weights = [inits[n.input[1]] for n in g.node if n.op_type == "MatMulInteger" and n.input[1] in inits]
        assert len(weights) >= 16 and all(w.data_type == TensorProto.UINT8 for w in weights), f
    # the token table: 7-bit MatMulNBits blocks, every byte <= 127 (quantize.nbits_table), one copy
    table = numpy_helper.to_array(inits["table_q"])
    assert table.dtype == np.uint8 and table.max() <= 127 and {"table", "table_u8"}.isdisjoint(inits)
    assert (numpy_helper.to_array(inits["table_zp"]) == 64).all()
    (logits,) = [n for n in g.node if n.op_type == "MatMulNBits"]
    assert {a.name: a.i for a in logits.attribute if a.name in ("bits", "accuracy_level")} == {"bits": 8, "accuracy_level": 4}


def test_export_rebuilds_graphs_whose_float_version_matches_torch(tmp_path, torch_model):
    out, fp32 = tmp_path / "speech", tmp_path / "fp32"
    m = ex.export(out, fp32)
    assert m["graphs"]["decoder"]["bytes"] < 30e6
    enc, dec = _session(fp32 / "encoder.fp32.onnx"), _session(fp32 / "decoder.fp32.onnx")
    clip = GOLDEN["clips"][0]
    audio = read_wav(SPEECH / "golden" / f"{clip['name']}.wav")
    got = transcribe_onnx(enc, dec, audio, ex.decode_rules(), clip["minContextSeconds"])
    want = transcribe_torch(torch_model, audio, ex.decode_rules(), clip["minContextSeconds"])
    assert got.tokens == want.tokens
    # float32 both, but torch and onnxruntime order their sums differently (fused attention,
    # layer norm, GELU), and the threads' split of a sum varies with load: a fresh-clone CI run saw
    # 1.9e-4 where this test had asked < 1e-4 absolute. Bound relative to the states' scale.
    scale = float(np.abs(want.states).max())
    assert np.abs(got.states - want.states).max() < 5e-5 * scale
    # the encoder runs on any context up to 30 s (the positional embedding is sliced)
    states, ck, _ = enc.run(None, {"mel": np.zeros((1, 80, 3000), np.float32)})
    assert states.shape == (1, 1500, 384) and ck.shape == (4, 1, 6, 1500, 64)


def test_greedy_stops_on_a_repeating_tail_and_bounds_tokens():
    assert repeating_tail([5, 1, 2, 1, 2, 1, 2, 1, 2]) == 6
    assert repeating_tail([1, 1, 1]) == 0 and repeating_tail([7, 8, 9]) == 0
    phrase = [40, 6, 7, 8, 9, 10, 13]  # 7 tokens: said twice in a row is a loop
    assert repeating_tail([3] + phrase + phrase) == 7
    assert repeating_tail([1, 2, 3, 4, 5, 1, 2, 3, 4, 5]) == 0  # 5 tokens twice: may be speech
    assert cut_repetition([9, 3, 3, 3, 3, 3, 3]) == [9, 3]
    assert token_budget(2.0) == 24 and token_budget(60.0) == 224
    assert cosine_rows(np.ones((2, 3)), np.ones((2, 3))) == pytest.approx(1.0)
