/**
 * Text front-end: the model's own `tokenizer.json` through @huggingface/tokenizers, truncated
 * to `text.maxTokens` the way the Rust `tokenizers` library truncates (the special tokens of the
 * post-processor are kept, the words are cut from the right), and padded per batch.
 */
import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';

/** One batch of token rows, row-major [rows, tokens], ready for the text encoder. */
export interface TokenBatch {
  rows: number;
  /** Columns after padding: the longest row, or the fixed width when given. */
  tokens: number;
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  tokenTypeIds: BigInt64Array;
  /** Real (unpadded) length of each row. */
  lengths: number[];
}

export class TextTokenizer {
  private readonly tok: Tokenizer;
  /** Id used for padding: the tokenizer's `padding.pad_id`, else `[PAD]`, else 0. */
  readonly padId: number;

  /**
   * @param tokenizerPath absolute path of tokenizer.json
   * @param maxTokens hard cap on tokens per row, special tokens included (manifest `text.maxTokens`)
   */
  constructor(tokenizerPath: string, readonly maxTokens: number) {
    const json = JSON.parse(readFileSync(tokenizerPath, 'utf8')) as { padding?: { pad_id?: number } | null };
    this.tok = new Tokenizer(json, {});
    this.padId = json.padding?.pad_id ?? this.tok.token_to_id('[PAD]') ?? 0;
  }

  /** Token ids of one text, special tokens included, at most `maxTokens` long. */
  encode(text: string): number[] {
    const full = this.tok.encode(text).ids;
    if (full.length <= this.maxTokens) return full;
    // Locate the words inside the template (e.g. [CLS] words [SEP]) so the specials survive the cut.
    const words = this.tok.encode(text, { add_special_tokens: false }).ids;
    const specials = full.length - words.length;
    let prefix = 0;
    while (prefix < specials && !sameAt(full, words, prefix)) prefix++;
    const keep = Math.max(0, this.maxTokens - specials);
    return [...full.slice(0, prefix), ...words.slice(0, keep), ...full.slice(prefix + words.length)];
  }

  /**
   * Encodes and pads a batch. Rows are padded with `padId` and mask 0 to the longest row, or
   * to `fixedTokens` when the graph's token dim is fixed.
   */
  encodeBatch(texts: string[], fixedTokens?: number): TokenBatch {
    const ids = texts.map((t) => this.encode(t));
    const lengths = ids.map((r) => r.length);
    const tokens = fixedTokens ?? Math.max(1, ...lengths);
    const n = texts.length * tokens;
    const inputIds = new BigInt64Array(n).fill(BigInt(this.padId));
    const attentionMask = new BigInt64Array(n);
    const tokenTypeIds = new BigInt64Array(n);
    ids.forEach((row, r) => {
      const len = Math.min(row.length, tokens);
      for (let i = 0; i < len; i++) {
        inputIds[r * tokens + i] = BigInt(row[i]);
        attentionMask[r * tokens + i] = 1n;
      }
    });
    return { rows: texts.length, tokens, inputIds, attentionMask, tokenTypeIds, lengths };
  }
}

function sameAt(full: number[], words: number[], at: number): boolean {
  for (let i = 0; i < words.length; i++) if (full[at + i] !== words[i]) return false;
  return true;
}
