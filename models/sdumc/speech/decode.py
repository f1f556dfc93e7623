"""Greedy decoding rules shared by every runtime (torch here, onnxruntime-node in
src/score/speech/): the same prompt, suppressions and stops, so the runtimes can be compared
token for token with CTranslate2's `generate(beam_size=1)`.

- prompt: <|startoftranscript|> <|notimestamps|> (tiny.en has no language/task tokens);
- every step: the config's `suppress_ids` get -inf (as CTranslate2 does with suppress_tokens=[-1]);
- first step: `suppress_ids_begin` (blank and end-of-text) get -inf too (suppress_blank);
- stop at end-of-text, at `max_new_tokens`, or when the tail repeats (see `repeating_tail`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

MAX_NEW_TOKENS = 224  # whisper's sample_len: half the text context
# Loop stops: a tail pattern of 1..REPEAT_SPAN tokens seen REPEAT_TIMES in a row ("no no no no"
# is speech, four more copies of it are not), or of REPEAT_SPAN+1..LONG_REPEAT_SPAN tokens seen
# LONG_REPEAT_TIMES in a row (a whole phrase said twice back to back: how a trimmed-context
# decoder loops, e.g. "I haven't seen you in. I haven't seen you in.").
REPEAT_SPAN = 5
REPEAT_TIMES = 4
LONG_REPEAT_SPAN = 32
LONG_REPEAT_TIMES = 2
# Default shortest encoder context (s): a shorter segment is followed by silence up to this. On
# espeak-ng lines and 2-3 line segments (2.5-11 s) CTranslate2's greedy WER was 0.205 trimmed to
# the segment, 0.117 at >= 10 s, 0.144 at the full 30 s; trimmed, short segments often loop.
MIN_CONTEXT_S = 10.0


@dataclass(frozen=True)
class DecodeRules:
    sot: int = 50257
    eot: int = 50256
    no_timestamps: int = 50362
    suppress: tuple[int, ...] = ()
    suppress_begin: tuple[int, ...] = ()
    max_new_tokens: int = MAX_NEW_TOKENS

    @property
    def prompt(self) -> list[int]:
        return [self.sot, self.no_timestamps]


def token_budget(seconds: float, cap: int = MAX_NEW_TOKENS) -> int:
    """Most tokens worth decoding for `seconds` of speech: 8 per second (fast speech makes
    ~4-5) plus 8, at most `cap`. Bounds the cost of a decoder that does not stop."""
    return min(cap, 8 + math.ceil(8 * seconds))


def repeating_tail(tokens: list[int], span: int = REPEAT_SPAN, times: int = REPEAT_TIMES,
                   long_span: int = LONG_REPEAT_SPAN, long_times: int = LONG_REPEAT_TIMES) -> int:
    """Length of the tail to drop when it is one pattern repeated in a row (a decoder stuck in a
    loop, see REPEAT_SPAN); 0 when there is none. Keeps one copy of the pattern."""
    for k in range(1, long_span + 1):
        n = times if k <= span else long_times
        if len(tokens) < k * n:
            continue
        tail = tokens[-k:]
        if all(tokens[-k * (i + 1):len(tokens) - k * i] == tail for i in range(1, n)):
            return k * (n - 1)
    return 0


def cut_repetition(tokens: list[int]) -> list[int]:
    """`tokens` as Greedy would have stopped them: cut where a repeating tail first appears."""
    for k in range(1, len(tokens) + 1):
        drop = repeating_tail(tokens[:k])
        if drop:
            return tokens[:k - drop]
    return tokens


@dataclass
class Greedy:
    """Step-by-step greedy choice over logits; `tokens` are the generated ones (no prompt)."""

    rules: DecodeRules
    limit: int
    tokens: list[int] = field(default_factory=list)
    done: bool = False
    stop: str = ""  # why decoding stopped: "eot", "repetition" or "budget" (the Node runtime's names)

    def step(self, logits: np.ndarray) -> int:
        """Chooses the next token from (V,) logits; sets `done` when decoding must stop."""
        z = logits.astype(np.float64).copy()
        z[list(self.rules.suppress)] = -np.inf
        if not self.tokens:
            z[list(self.rules.suppress_begin)] = -np.inf
        t = int(np.argmax(z))
        if t == self.rules.eot:
            self.done, self.stop = True, "eot"
            return t
        self.tokens.append(t)
        drop = repeating_tail(self.tokens)
        if drop:
            del self.tokens[-drop:]
            self.done, self.stop = True, "repetition"
        elif len(self.tokens) >= self.limit:
            self.done, self.stop = True, "budget"
        return t
