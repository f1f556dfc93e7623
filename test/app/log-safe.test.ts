/**
 * Issue 13, finding 7: no transcript text in any log line above debug. Two checks:
 * - the hand-over log field (positionForLog) carries positions and counts, not the stored texts;
 * - a scan of every info/warn/error/fatal logger call in src/: none passes an object that holds
 *   transcript text (a segment, score, chunk, raw record, recovered position or its spans, or a
 *   `text` field). The old "call met mid-way" line logged `Object.fromEntries(pos.channels)`,
 *   every stored span's text included, and fails this scan.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { keyForLog, positionForLog } from '../../src/app/log-safe.js';
import type { CallPosition } from '../../src/window/recovery.js';

const SRC = new URL('../../src/', import.meta.url).pathname;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Each logger call at info level or above, as source text (string literals blanked). */
function loudCalls(source: string): string[] {
  const out: string[] = [];
  const re = /\b(?:logger|log|this\.log|this\.o\.logger|opts\.logger|o\.logger)\.(?:info|warn|error|fatal)\s*\(/g;
  for (let m = re.exec(source); m; m = re.exec(source)) {
    let depth = 1;
    let i = m.index + m[0].length;
    for (; i < source.length && depth > 0; i++) {
      if (source[i] === '(') depth++;
      else if (source[i] === ')') depth--;
    }
    out.push(source.slice(m.index, i).replace(/'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`|"(?:[^"\\]|\\.)*"/g, "''"));
  }
  return out;
}

const CARRIES_TEXT = /\btext\b|\bspans\b|\btranscript\b|pos\.channels|\b(?:segment|score|chunk|raw|rec|record|pos|c)\s*[,}]|\.\.\.(?:segment|score|chunk|raw|pos)\b/;

test('no logger call above debug in src/ passes an object that can hold transcript text', () => {
  const offenders: string[] = [];
  let scanned = 0;
  for (const f of files(SRC)) {
    for (const call of loudCalls(readFileSync(f, 'utf8'))) {
      scanned++;
      if (CARRIES_TEXT.test(call)) offenders.push(`${f.slice(SRC.length)}: ${call}`);
    }
  }
  assert.ok(scanned > 30, `scanned ${scanned} logger calls`);
  assert.deepEqual(offenders, []);
});

test('positionForLog keeps positions and counts, never the stored texts; keyForLog bounds a key', () => {
  const pos: CallPosition = {
    call: { callId: 'c1', tenant: 'acme', status: 'ACTIVE', startedAtMs: 0, endedAtMs: null, channels: ['customer'], segmentCount: 2, meta: {} },
    channels: new Map([['customer', { nextIndex: 2, endMs: 5000, spans: [{ startMs: 0, endMs: 2000, text: 'my password is hunter2' }], uncheckedBeforeMs: -Infinity, stored: null }]]),
    lastScores: [],
  };
  const field = positionForLog(pos);
  assert.deepEqual(field, { status: 'ACTIVE', channels: { customer: { nextIndex: 2, endMs: 5000, textSpans: 1 } } });
  assert.ok(!JSON.stringify(field).includes('hunter2'));
  assert.equal(keyForLog(Buffer.from('x'.repeat(10_000)))?.length, 131);
  assert.equal(keyForLog(null), null);
});
