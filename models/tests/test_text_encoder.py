"""Text encoder: weights, tokenizer, torch vs ONNX fp32, int8 fidelity, encode_texts."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from sdumc.text_encoder.__main__ import main as text_encoder_main
from sdumc.text_encoder.contract import INFO_FILE, INPUT_NAMES, INT8_FILE, TOKENIZER_FILE
from sdumc.text_encoder.encode import default_graph, encode_texts, mean_pool, session as text_session
from sdumc.text_encoder.export import MIN_COS, MIN_MEAN_COS, export as export_text_encoder, export_fp32, int8_fidelity
from sdumc.text_encoder.model import load_minilm
from sdumc.text_encoder.quantise import max_abs_s8_weight, u8_weights
from sdumc.text_encoder.tokens import tokenize
from sdumc.text_encoder.vader import vader_path, vader_texts

MODELS = Path(__file__).resolve().parent.parent
INT8 = MODELS / "sdumc-v1" / INT8_FILE


@pytest.fixture(scope="module")
def model():
    return load_minilm()


# Every test here may read VADER tweets through vader_path(): the committed first rows.
pytestmark = pytest.mark.usefixtures("shared_data_head")


@pytest.fixture(scope="module")
def vader(shared_data_head):
    """The first 96 VADER tweets."""
    return vader_texts(96)


def _torch_emb(model, feeds):
    with torch.no_grad():
        return model(*(torch.from_numpy(feeds[n]) for n in INPUT_NAMES)).numpy()


def _cos(a, b):
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_paraphrases_are_closer_than_unrelated(model):
    texts = ["A man is eating food.", "A man is eating a piece of bread.",
             "The girl is carrying a baby.", "A monkey is playing drums."]
    f = tokenize(texts)
    v = mean_pool(_torch_emb(model, f), f["attention_mask"])
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    sim = v @ v.T
    # all-MiniLM-L6-v2 gives ~0.755 for the first pair; unrelated pairs stay near 0
    assert 0.70 < sim[0, 1] < 0.80
    assert sim[0, 1] > max(sim[0, 2], sim[0, 3], sim[1, 2], sim[2, 3]) + 0.5


def test_tokenize_truncates_pads_and_refuses_empty():
    f = tokenize(["hello", "word " * 200])
    assert f["input_ids"].shape == (2, 64) and f["input_ids"].dtype == np.int64
    assert f["input_ids"][0, 0] == 101 and f["input_ids"][0, 2] == 102  # [CLS] hello [SEP]
    assert f["attention_mask"][0].sum() == 3 and f["attention_mask"][1].sum() == 64
    assert f["input_ids"][1, -1] == 102 and not f["token_type_ids"].any()
    with pytest.raises(ValueError, match="text 1 is empty"):
        tokenize(["fine", "   "])


def test_shipped_tokenizer_matches_package_one():
    from tokenizers import Tokenizer

    shipped = json.loads((MODELS / "sdumc-v1" / TOKENIZER_FILE).read_text())
    assert shipped["truncation"]["max_length"] == 64 and shipped["padding"]["strategy"] == "BatchLongest"
    tok = Tokenizer.from_file(str(MODELS / "sdumc-v1" / TOKENIZER_FILE))
    texts = ["Ugh, the call dropped AGAIN!!! :(", "ok thanks, that's great"]
    got = [e.ids for e in tok.encode_batch(texts)]
    ref = tokenize(texts)
    assert np.array_equal(np.array(got), ref["input_ids"])


def test_onnx_fp32_matches_torch(model, tmp_path, vader):
    path = export_fp32(tmp_path / "fp32.onnx", model)
    sess = text_session(path)
    f = tokenize(vader[:16] + ["x"])  # a 3-token row padded to the batch's longest
    got = sess.run(None, f)[0]
    assert got.shape[2] == 384
    assert np.abs(got - _torch_emb(model, f)).max() <= 1e-4


def test_int8_close_to_fp32_and_small(model, vader, tmp_path):
    """The quantisation keeps the packaged weights' pooled embeddings (fresh export), and the
    served graph was exported under the same bar from the weights it holds (text_encoder.json:
    the tuned fp32 checkpoint is not committed, so its check is recorded at export time)."""
    path = export_text_encoder(tmp_path)
    fid = int8_fidelity(model, path, vader)
    assert fid["mean"] > MIN_MEAN_COS and fid["min"] > MIN_COS, fid
    assert json.loads((tmp_path / INFO_FILE).read_text())["int8_vs_fp32_pooled_cosine"]["texts"] == 96
    assert INT8.stat().st_size < 30e6
    served = json.loads((INT8.parent / INFO_FILE).read_text())["int8_vs_fp32_pooled_cosine"]
    assert served["mean"] >= MIN_MEAN_COS and served["min"] >= MIN_COS, served


def _matmul_integer_graph(path, w, zp):
    """x (float) -> DynamicQuantizeLinear -> MatMulInteger with weight `w`, zero point `zp`
    -> int32 output: the pattern quantize_dynamic writes, without the rescale."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    k, n = w.shape
    nodes = [helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
             helper.make_node("MatMulInteger", ["xq", "w", "xz", "zp"], ["y"])]
    graph = helper.make_graph(nodes, "mmi", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, k])],
                              [helper.make_tensor_value_info("y", TensorProto.INT32, [None, n])],
                              [numpy_helper.from_array(w, "w"), numpy_helper.from_array(zp, "zp")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


def test_u8_weights_compute_the_exact_int8_math_on_any_cpu(tmp_path):
    """Inputs that saturate VPMADDUBSW (u8 255 x s8 127, pairwise sums > 32,767): the U8U8
    graph that u8_weights writes must give the exact integer products on every CPU (the int8
    original gives them only on CPUs with VNNI), and the conversion keeps w - zp."""
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    k, n = 64, 8
    w = rng.integers(100, 128, (k, n)).astype(np.int8)
    w[:, 1] = -w[:, 1]
    zp = np.zeros(n, np.int8)
    x = np.vstack([np.full(k, 1.0), rng.uniform(0, 1, k), -np.full(k, 1.0)]).astype(np.float32)
    x[2, 0] = 1.0  # one positive value, so the quantised row mixes 0 and 255
    path = tmp_path / "mmi.onnx"
    _matmul_integer_graph(path, w, zp)
    assert u8_weights(path) == 1 and u8_weights(path) == 0, "converts once"
    import onnx
    from onnx import numpy_helper
    inits = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer}
    assert inits["w"].dtype == np.uint8 and inits["zp"].dtype == np.uint8
    assert np.array_equal(inits["w"].astype(np.int32) - inits["zp"].astype(np.int32), w.astype(np.int32) - zp)
    # exact reference: the same dynamic quantisation in numpy, then integer products
    lo, hi = min(x.min(), 0.0), max(x.max(), 0.0)
    scale = (hi - lo) / 255
    xz = np.clip(np.round(-lo / scale), 0, 255)
    xq = np.clip(np.round(x / scale) + xz, 0, 255).astype(np.int64)
    want = (xq - int(xz)) @ w.astype(np.int64)
    assert np.abs(want).max() > 32767 * 2, "the case must be one that saturates"
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    assert np.array_equal(got, want)


def test_served_text_graph_is_exact_on_every_cpu():
    """Every MatMulInteger weight of the served graph is uint8 (U8U8 kernels) or int8 within
    -64..64 (U8S8 kernels: a u8 x s8 pair sum is at most 2 x 255 x 64 = 32,640, so VPMADDUBSW
    cannot saturate on CPUs without VNNI), as its text_encoder.json says; 6 per layer."""
    import onnx
    from onnx import numpy_helper

    info = json.loads((INT8.parent / INFO_FILE).read_text())
    model = onnx.load(str(INT8))
    inits = {t.name: t for t in model.graph.initializer}
    mmi = [nd for nd in model.graph.node if nd.op_type == "MatMulInteger"]
    assert len(mmi) == 6 * info.get("layers", 6)
    dtypes = {numpy_helper.to_array(inits[nd.input[1]]).dtype for nd in mmi}
    if "7-bit" in info["quantisation"]:
        assert dtypes == {np.dtype(np.int8)} and max_abs_s8_weight(INT8) <= 64
    else:
        assert dtypes == {np.dtype(np.uint8)} and "uint8" in info["quantisation"]


def test_encode_texts_shapes_masks_and_batch_stability(vader):
    texts = vader[:40]
    emb, mask = encode_texts(texts, batch_size=16, graph=INT8)
    n_tok = [len(e) for e in tokenize(texts)["attention_mask"]]
    assert emb.dtype == np.float16 and mask.dtype == np.float32
    assert emb.shape == (40, max(n_tok), 384) and mask.shape == (40, max(n_tok))
    assert np.all(emb[mask == 0] == 0) and np.all(mask.sum(1) >= 3)
    # the same texts one at a time: int8 activation scales are per batch, so numbers move
    # with batch mates (measured: pooled cosine 0.969..0.993 against batch 16); bound it
    one, mask1 = encode_texts(texts[:8], batch_size=1, graph=INT8)
    t = one.shape[1]
    assert np.array_equal(mask1, mask[:8, :t])
    c = _cos(mean_pool(one, mask1), mean_pool(emb[:8, :t], mask[:8, :t]))
    assert c.min() > 0.95 and c.mean() > 0.98, c


def test_encode_texts_bad_input():
    with pytest.raises(ValueError):
        encode_texts([], graph=INT8)
    with pytest.raises(FileNotFoundError):
        encode_texts(["hi"], graph=MODELS / "nope.onnx")


def test_cli_bad_input_is_one_line(capsys):
    assert text_encoder_main(["--bench", "/nonexistent"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err


# ---- the VADER lexicon baseline (sdumc.lexicon), the text path's comparison -------------
def test_lexicon_valence_sign_scale_and_errors():
    from sdumc.lexicon import Lexicon, compound_to_valence

    v = Lexicon().valence(["I love it, wonderful!", "This is awful and I hate it.", "The box is brown."])
    assert v[0] > 1.5 and v[1] < -1.5 and abs(v[2]) < 0.1
    assert np.all(np.abs(compound_to_valence(np.array([-1.0, 1.0]), "inverse")) <= 3.0)
    with pytest.raises(ValueError, match="text 1 is empty"):
        Lexicon().valence(["fine", ""])
    with pytest.raises(ValueError, match="unknown mapping"):
        compound_to_valence(0.5, "cubic")


def test_lexicon_tracks_human_ratings(vader):
    from sdumc.lexicon import Lexicon
    from sdumc.metrics import pearson

    rows = [line.split("\t", 2) for line in vader_path().read_text(encoding="utf-8", errors="replace")
            .splitlines()[:300] if line.count("\t") >= 2]
    y = np.array([float(r[1]) * 0.75 for r in rows])
    r = pearson(Lexicon().valence([r[2] for r in rows]), y)
    assert r > 0.7, r  # VADER was tuned on these tweets: a strong baseline (~0.87 on all 4,200)


def test_default_graph_follows_sdumc_text_graph(monkeypatch, tmp_path):
    """train-model.sh points SDUMC_TEXT_GRAPH at the version it builds, so its feature caches
    encode with that version's text graph, not the current one's."""
    monkeypatch.delenv("SDUMC_TEXT_GRAPH", raising=False)
    assert default_graph() == INT8
    monkeypatch.setenv("SDUMC_TEXT_GRAPH", str(tmp_path / INT8_FILE))
    assert default_graph() == tmp_path / INT8_FILE
