/**
 * Greedy token choice with Whisper's suppressions and this product's stops, the same rules as
 * models/sdumc/speech/decode.py (so tokens can be compared with CTranslate2's greedy search).
 */
import type { SpeechDecodeRules, SpeechManifest } from './manifest.js';

/** Why decoding stopped. */
export type StopReason = 'eot' | 'budget' | 'repetition';

/** Most tokens worth decoding for `seconds` of speech (bounds the cost of a decoder that does not stop). */
export function tokenBudget(seconds: number, rules: SpeechDecodeRules, cap = rules.maxNewTokens): number {
  return Math.min(cap, rules.tokensBase + Math.ceil(rules.tokensPerSecond * seconds));
}

/** The loop-stop part of the decoding rules. */
export type RepeatRules = Pick<SpeechDecodeRules, 'repeatSpan' | 'repeatTimes' | 'longRepeatSpan' | 'longRepeatTimes'>;

/**
 * Tokens to drop when the tail is one pattern repeated in a row (a decoder stuck in a loop),
 * keeping one copy; 0 when there is none. Patterns of 1..repeatSpan tokens must repeat
 * repeatTimes, longer ones up to longRepeatSpan longRepeatTimes (decode.py says why).
 */
export function repeatingTail(tokens: readonly number[], r: RepeatRules): number {
  for (let k = 1; k <= r.longRepeatSpan; k++) {
    const times = k <= r.repeatSpan ? r.repeatTimes : r.longRepeatTimes;
    if (tokens.length < k * times) continue;
    let same = true;
    for (let i = 1; i < times && same; i++) {
      for (let j = 0; j < k; j++) {
        if (tokens[tokens.length - k * (i + 1) + j] !== tokens[tokens.length - k + j]) {
          same = false;
          break;
        }
      }
    }
    if (same) return k * (times - 1);
  }
  return 0;
}

export class Greedy {
  /** Generated tokens, prompt and end-of-text excluded. */
  readonly tokens: number[] = [];
  stop: StopReason | null = null;

  /** 1 where a token may not be chosen (a byte per vocabulary entry: no hashing in the argmax loop). */
  private readonly banned: Uint8Array;
  private readonly bannedFirst: Uint8Array;

  constructor(private readonly m: SpeechManifest, private readonly limit: number) {
    this.banned = new Uint8Array(m.dims.n_vocab);
    for (const t of m.tokens.suppress) this.banned[t] = 1;
    this.bannedFirst = Uint8Array.from(this.banned);
    for (const t of m.tokens.suppressBegin) this.bannedFirst[t] = 1;
  }

  /** Chooses the next token from the last position's logits (length V). */
  step(logits: Float32Array): number {
    const eot = this.m.tokens.eot;
    const banned = this.tokens.length === 0 ? this.bannedFirst : this.banned;
    let best = -1;
    let bestValue = -Infinity;
    for (let i = 0; i < logits.length; i++) {
      if (logits[i] > bestValue && banned[i] === 0) {
        best = i;
        bestValue = logits[i];
      }
    }
    if (best === eot) {
      this.stop = 'eot';
      return best;
    }
    this.tokens.push(best);
    const drop = repeatingTail(this.tokens, this.m.decode);
    if (drop > 0) {
      this.tokens.splice(this.tokens.length - drop, drop);
      this.stop = 'repetition';
    } else if (this.tokens.length >= this.limit) {
      this.stop = 'budget';
    }
    return best;
  }
}
