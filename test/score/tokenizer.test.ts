import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadManifest } from '../../src/score/manifest.js';
import { TextTokenizer } from '../../src/score/tokenizer.js';
import { requireModel } from './fixtures.js';

/** Ids from the Rust `tokenizers` library (make_tokenizer_fixture.py), the library training used. */
const parity = JSON.parse(readFileSync(new URL('./tokenizer-parity.json', import.meta.url), 'utf8')) as { maxTokens: number; texts: string[]; ids: number[][] };

async function tokenizer(t: import('node:test').TestContext, maxTokens?: number): Promise<TextTokenizer | null> {
  const dir = await requireModel(t);
  if (!dir) return null;
  const m = await loadManifest(dir, { verifyHashes: false });
  return new TextTokenizer(m.text.tokenizerPath, maxTokens ?? m.text.maxTokens);
}

test('same ids as the Rust tokenizers library, truncation included', async (t) => {
  const tok = await tokenizer(t, parity.maxTokens);
  if (!tok) return;
  const diffs = parity.texts.filter((s, i) => JSON.stringify(tok.encode(s)) !== JSON.stringify(parity.ids[i]));
  assert.deepEqual(diffs, []);
  assert.ok(parity.ids.some((r) => r.length === parity.maxTokens), 'the fixture exercises truncation');
});

test('truncation keeps the special tokens around the first words', async (t) => {
  const tok = await tokenizer(t, 5);
  if (!tok) return;
  const full = tok.encode('one two three four five six');
  assert.equal(full.length, 5);
  assert.equal(full[0], 101, '[CLS] first');
  assert.equal(full[4], 102, '[SEP] last');
});

test('a batch pads to its longest row with pad id and mask 0, token types all 0', async (t) => {
  const tok = await tokenizer(t);
  if (!tok) return;
  const b = tok.encodeBatch(['hi', 'hello there my friend']);
  assert.equal(b.tokens, b.lengths[1]);
  assert.equal(b.lengths[0], 3);
  const row0 = Array.from(b.attentionMask.subarray(0, b.tokens)).map(Number);
  assert.deepEqual(row0, [1, 1, 1, ...Array(b.tokens - 3).fill(0)]);
  assert.equal(b.inputIds[3], BigInt(tok.padId));
  assert.ok(b.tokenTypeIds.every((x) => x === 0n));
  assert.equal(tok.encodeBatch(['hi'], 8).tokens, 8, 'a fixed width pads further');
});
