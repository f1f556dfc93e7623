"""Sentiment tuning of the text encoder: trains only the top layers, selects on validation,
writes a checkpoint the exporter loads, and refuses bad input clearly."""
from pathlib import Path

import pytest
import torch

from sdumc import text_tune
from sdumc.data import DataError
from sdumc.text_encoder.__main__ import main as text_encoder_main
from sdumc.text_encoder.contract import BASE_NAME, INPUT_NAMES, INT8_FILE, OUTPUT_NAME
from sdumc.text_encoder.encode import session as text_session
from sdumc.text_encoder.export import describe as describe_text_encoder, export as export_text_encoder, export_fp32
from sdumc.text_encoder.model import load_minilm
from sdumc.text_encoder.tokens import tokenize

MODELS = Path(__file__).resolve().parent.parent
MINI = MODELS / "fixtures" / "corpus-mini"


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    out = tmp_path_factory.mktemp("tune")
    m = text_tune.tune(MINI, out, n_top=1, epochs=2, lr=1e-3, batch_size=8, threads=1,
                       progress=False, log=lambda s: None)
    return out, m


def test_writes_checkpoint_and_metrics_with_lexicon_side_by_side(tuned):
    out, m = tuned
    assert (out / "best.pt").is_file() and (out / "metrics.json").is_file()
    assert m["layers_tuned"] == 1 and len(m["history"]) == 2
    assert m["train_texts"] == 20 and m["val_texts"] == 20
    assert m["best_val_mae"] == min(h["val_mae"] for h in m["history"])  # selected on validation
    for sub in ("movie", "tweets", "nyt", "meld"):
        assert set(m["test"][sub]) == {"n", "tuned_r", "lexicon_r"}
        assert -1 <= m["test"][sub]["tuned_r"] <= 1


def test_only_the_top_layers_change(tuned):
    out, _ = tuned
    base, new = load_minilm(), text_tune.load_tuned(out / "best.pt")
    for name, p in base.state_dict().items():
        same = torch.equal(p, new.state_dict()[name])
        assert same != name.startswith("layers.5."), name  # layer 5 (the top one) moved, nothing else


def test_tuned_weights_reach_the_exported_graph(tuned, tmp_path):
    out, _ = tuned
    model = text_tune.load_tuned(out / "best.pt")
    graph = export_fp32(tmp_path / "t.onnx", model)
    feeds = tokenize(["what a lovely day", "this is awful"])
    got = text_session(graph).run([OUTPUT_NAME], feeds)[0]
    with torch.no_grad():
        want = model(*(torch.from_numpy(feeds[n]) for n in INPUT_NAMES)).numpy()
    assert abs(got - want).max() < 1e-4


def test_bad_input_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(DataError, match="does not exist"):
        text_tune.tune(tmp_path / "nope", tmp_path / "o", progress=False)
    with pytest.raises(ValueError, match="--layers"):
        text_tune.tune(MINI, tmp_path / "o", n_top=0, progress=False)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a text-tune checkpoint"):
        text_tune.load_tuned(junk)
    with pytest.raises(FileNotFoundError):
        text_tune.load_tuned(tmp_path / "missing.pt")
    assert text_tune.main(["--corpus", str(tmp_path / "nope"), "--no-progress"]) == 2
    assert "error:" in capsys.readouterr().err
    assert text_encoder_main(["--tuned", str(junk)]) == 2  # --tuned without --out


def test_export_records_what_the_text_graph_holds(tuned, tmp_path, shared_data_head):
    out, m = tuned
    export_text_encoder(tmp_path, model=text_tune.load_tuned(out / "best.pt"), tuned=text_tune.summary(out / "best.pt"))
    assert "top 1 layers sentiment-tuned on 20 train-split texts" in describe_text_encoder(tmp_path)
    assert (tmp_path / INT8_FILE).stat().st_size < 30e6
    export_text_encoder(tmp_path / "plain")
    assert describe_text_encoder(tmp_path / "plain") == f"{BASE_NAME}, dynamic int8"
