"""LogMel front-end: numpy reference, masking, padding independence, ONNX parity."""
import io

import numpy as np
import onnxruntime as ort
import pytest
import torch

from sdumc.frontend import LogMel, LogMelConfig, logmel_numpy, mel_filterbank


def _signal(n: int, seed: int = 0) -> np.ndarray:
    """A chirp + noise in [-1, 1]: energy spread over many bands, so every filter is tested."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 16000.0
    chirp = 0.5 * np.sin(2 * np.pi * (100 + 3000 * t) * t)
    return (chirp + 0.05 * rng.standard_normal(n)).astype(np.float32)


def test_config_defaults_match_manifest_doc():
    fe = LogMelConfig().to_manifest()
    assert fe == {"kind": "logmel", "inGraph": True, "nFft": 512, "winLength": 400,
                  "hopLength": 160, "nMels": 64, "fMin": 60.0, "fMax": 7600.0, "logFloor": 1e-5}


def test_config_rejects_bad_params():
    with pytest.raises(ValueError):
        LogMelConfig(winLength=600)
    with pytest.raises(ValueError):
        LogMelConfig(fMax=9000)


def test_filterbank_shape_and_coverage():
    fb = mel_filterbank(LogMelConfig())
    assert fb.shape == (257, 64)
    assert np.all(fb >= 0) and fb.max() <= 1.0 + 1e-9
    assert np.all(fb.sum(axis=0) > 0), "every mel band must see at least one DFT bin"


def test_matches_numpy_reference():
    cfg = LogMelConfig()
    x = _signal(16000)
    feats, mask = LogMel(cfg)(torch.from_numpy(x)[None], torch.tensor([16000]))
    ref = logmel_numpy(x, 16000, cfg)
    assert feats.shape == (1, 101, 64) and mask.shape == (1, 101)
    assert int(mask.sum()) == ref.shape[0] == 100
    got = feats[0, :100].double().numpy()
    assert np.max(np.abs(got - ref)) < 2e-3  # log domain; float32 conv vs float64 FFT


def test_masking_and_padding_independence():
    cfg = LogMelConfig()
    x = _signal(8000, seed=1)
    lm = LogMel(cfg)
    alone, m1 = lm(torch.from_numpy(x)[None], torch.tensor([8000]))
    # same row padded with garbage past its length, batched with a longer row and an empty one
    batch = np.random.default_rng(2).uniform(-1, 1, (3, 16000)).astype(np.float32)
    batch[0, :8000] = x
    feats, mask = lm(torch.from_numpy(batch), torch.tensor([8000, 16000, 0]))
    assert mask[0].sum() == 50 and mask[1].sum() == 100 and mask[2].sum() == 0
    assert torch.allclose(feats[0, :50], alone[0, :50], atol=1e-5)
    assert torch.all(feats[0, 50:] == 0) and torch.all(feats[2] == 0)
    assert torch.equal(m1[0, :50], mask[0, :50])


def test_length_not_multiple_of_hop():
    x = _signal(1234, seed=3)
    feats, mask = LogMel()(torch.from_numpy(x)[None], torch.tensor([1234]))
    ref = logmel_numpy(x, 1234)
    assert int(mask.sum()) == ref.shape[0] == 8
    assert np.max(np.abs(feats[0, :8].double().numpy() - ref)) < 2e-3


def test_onnx_export_parity():
    lm = LogMel().eval()
    pcm = torch.from_numpy(np.stack([_signal(16000, 4), _signal(16000, 5)]))
    length = torch.tensor([16000, 7000])
    buf = io.BytesIO()
    torch.onnx.export(lm, (pcm, length), buf, input_names=["pcm", "length"],
                      output_names=["feats", "mask"], opset_version=17,
                      dynamic_axes={"pcm": {0: "batch", 1: "samples"}, "length": {0: "batch"},
                                    "feats": {0: "batch", 1: "frames"}, "mask": {0: "batch", 1: "frames"}})
    sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    # a different batch and length than at export time: the dims must really be dynamic
    pcm2 = np.stack([_signal(24000, 6), _signal(24000, 7), _signal(24000, 8)])
    len2 = np.array([24000, 100, 0], dtype=np.int64)
    feats, mask = sess.run(None, {"pcm": pcm2, "length": len2})
    tf, tm = lm(torch.from_numpy(pcm2), torch.from_numpy(len2))
    assert feats.shape == (3, 151, 64)
    assert np.array_equal(mask, tm.numpy())
    assert np.max(np.abs(feats - tf.numpy())) <= 1e-4
