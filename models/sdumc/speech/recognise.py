"""Greedy recognition of one segment by three runtimes that must agree: the torch model,
onnxruntime on the exported graphs, and CTranslate2 (the reference, tests only)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .decode import DecodeRules, Greedy, cut_repetition, token_budget
from .mel import SAMPLE_RATE, log_mel, segment_frames, with_context
from .model import Whisper


@dataclass
class Recognised:
    tokens: list[int]
    states: np.ndarray  # (F, d) encoder frames
    stop: str = ""  # greedy's stop reason ("eot", "repetition", "budget"); "" for CTranslate2


def transcribe_torch(w: Whisper, audio: np.ndarray, rules: DecodeRules, min_context_s: float = 0.0) -> Recognised:
    mel = torch.from_numpy(log_mel(with_context(audio, min_context_s)))[None]
    greedy = Greedy(rules, token_budget(len(audio) / SAMPLE_RATE, rules.max_new_tokens))
    with torch.no_grad():
        states = w.encoder(mel)
        cross_k, cross_v = w.cross_kv(states)
        past_k, past_v = w.empty_cache()
        tokens = rules.prompt
        while not greedy.done:
            logits, past_k, past_v = w.decoder(torch.tensor([tokens]), past_k, past_v, cross_k, cross_v,
                                               torch.tensor([past_k.shape[3]]))
            tokens = [greedy.step(logits[0].numpy())]
    return Recognised(greedy.tokens, states[0, :segment_frames(len(audio))].numpy())


def encode_onnx(encoder, audio: np.ndarray, min_context_s: float = 0.0) -> np.ndarray:
    """The segment's encoder frames (F, d) from the exported encoder: what the Node runtime's
    `SpeechRecogniser.encode` returns (identical on the golden clips), for feature caches."""
    states = encoder.run(["states"], {"mel": log_mel(with_context(audio, min_context_s))[None]})[0]
    return states[0, :segment_frames(len(audio))]


def transcribe_onnx(encoder, decoder, audio: np.ndarray, rules: DecodeRules, min_context_s: float = 0.0,
                    layers: int = 4, heads: int = 6, head_dim: int = 64) -> Recognised:
    """`encoder`, `decoder`: onnxruntime InferenceSessions of the exported graphs."""
    states, cross_k, cross_v = encoder.run(None, {"mel": log_mel(with_context(audio, min_context_s))[None]})
    greedy = Greedy(rules, token_budget(len(audio) / SAMPLE_RATE, rules.max_new_tokens))
    past_k = past_v = np.zeros((layers, 1, heads, 0, head_dim), np.float32)
    tokens = rules.prompt
    while not greedy.done:
        logits, past_k, past_v = decoder.run(None, {
            "tokens": np.array([tokens], np.int64), "past_k": past_k, "past_v": past_v,
            "cross_k": cross_k, "cross_v": cross_v, "offset": np.array([past_k.shape[3]], np.int64)})
        tokens = [greedy.step(logits[0])]
    return Recognised(greedy.tokens, states[0, :segment_frames(len(audio))], greedy.stop)


def transcribe_ct2(model_dir: str, audio: np.ndarray, rules: DecodeRules, min_context_s: float = 0.0) -> Recognised:
    """CTranslate2 on the same trimmed log-mel, float32, greedy, its own suppression rules
    (the config's suppress_ids and suppress_ids_begin, which `rules` copies)."""
    import ctranslate2

    ct = ctranslate2.models.Whisper(model_dir, device="cpu", compute_type="float32", intra_threads=1)
    mel = ctranslate2.StorageView.from_array(np.ascontiguousarray(log_mel(with_context(audio, min_context_s))[None]))
    enc = ct.encode(mel, to_cpu=True)
    budget = token_budget(len(audio) / SAMPLE_RATE, rules.max_new_tokens)
    res = ct.generate(enc, [rules.prompt], beam_size=1, max_length=budget + len(rules.prompt),
                      suppress_blank=True, suppress_tokens=[-1])
    tokens = cut_repetition([t for t in res[0].sequences_ids[0] if t != rules.eot])
    return Recognised(tokens, np.array(enc)[0, :segment_frames(len(audio))])
