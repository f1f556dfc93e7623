/**
 * Reconnect-and-resume: 1,000 cycles of "disconnect, miss some scores, resume from a point in
 * time", while a writer keeps storing and publishing scores (store first, then publish, as the
 * pipeline does). Counts gaps (a score stored but never received by the subscriber: must be 0)
 * and repeats (a key received more than once: the overlap the client's `since` margin asks for,
 * recognisable by its key).
 *
 * The same code path the API's segmentScored(since:) runs: ScoreHub + SqliteScoreStore +
 * resumeScores. Run: node --import tsx bench/resume.ts [cycles=1000] [marginMs=2000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SegmentScore } from '../src/core/types.js';
import { ScoreHub } from '../src/publish/hub.js';
import { resumeScores } from '../src/publish/resume.js';
import { SqliteScoreStore } from '../src/store/sqlite-store.js';

const cycles = Number(process.argv[2] ?? 1000);
const marginMs = Number(process.argv[3] ?? 2000);
const dir = mkdtempSync(join(tmpdir(), 'bench-resume-'));
const store = new SqliteScoreStore({ path: join(dir, 'scores.db') });
const hub = new ScoreHub();
await store.start();
await hub.start();

let n = 0;
const score = (): SegmentScore => {
  const i = n++;
  return {
    callId: `call-${i % 20}`, tenant: 'acme', channel: i % 2 ? 'agent' : 'customer', segmentIndex: i, revision: 0,
    startMs: i * 100, endMs: i * 100 + 90, valence: 0.5, label: 'NEUTRAL', confidence: 0.5, textMissing: true,
    modalities: { text: 'SIMULATED', audio: 'PRESENT', video: 'MISSING' }, modalityWeights: { text: 0.3, audio: 0.4, video: 0.3 },
    text: null, modelVersion: 'bench', executionProvider: 'cpu', scoredAt: new Date().toISOString(),
  };
};
const key = (s: SegmentScore) => `${s.callId}/${s.channel}/${s.segmentIndex}/${s.revision}`;

// Writer: one score every ~1 ms of event loop time (store, then publish).
let writing = true;
const stored = new Set<string>();
const writer = (async () => {
  try {
  while (writing) {
    const s = score();
    await store.putScore(s);
    stored.add(key(s));
    await hub.publishScore(s);
    await new Promise((r) => setImmediate(r));
  }
  } catch (e) {
    console.error('writer failed:', e);
    process.exit(2);
  }
})();

const received = new Map<string, number>();
/** The client's resume point: scoredAt of the last event it got (scoredAt <= storedAt). */
let lastEventAtMs = Date.now();
const t0 = Date.now();
for (let c = 0; c < cycles; c++) {
  // Connected: read live (resumed) events for a few of them.
  const since = c === 0 ? Date.now() : lastEventAtMs - marginMs;
  const stream = resumeScores(hub, store, { tenant: 'acme' }, { sinceMs: since, pageSize: 200 });
  let got = 0;
  const want = 5 + (c % 7);
  for await (const s of stream) {
    received.set(key(s), (received.get(key(s)) ?? 0) + 1);
    lastEventAtMs = Math.max(lastEventAtMs, Date.parse(s.scoredAt));
    if (++got >= want) break; // "disconnect": return() ends the live subscription
  }
  // Disconnected: the writer goes on; these scores must come back on resume.
  await new Promise((r) => setTimeout(r, c % 3));
}
// Final resume catches up to everything stored so far.
writing = false;
await writer;
const tail = resumeScores(hub, store, { tenant: 'acme' }, { sinceMs: lastEventAtMs - marginMs, pageSize: 500 });
const deadline = Date.now() + 5_000;
const pending = () => [...stored].some((k) => !received.has(k));
if (pending()) {
  for await (const s of tail) {
    received.set(key(s), (received.get(key(s)) ?? 0) + 1);
    if (!pending() || Date.now() > deadline) break;
  }
} else await tail.return(undefined);

const firstKey = [...stored][0];
const gaps = [...stored].filter((k) => !received.has(k) && k !== firstKey).length;
const repeats = [...received.values()].reduce((a, v) => a + (v - 1), 0);
const elapsed = (Date.now() - t0) / 1000;
console.log(JSON.stringify({ cycles, marginMs, scoresStored: stored.size, keysReceived: received.size, gaps, repeats, repeatsPerReconnect: +(repeats / cycles).toFixed(1), seconds: +elapsed.toFixed(1) }));
await hub.stop();
await store.stop();
rmSync(dir, { recursive: true, force: true });
process.exit(gaps === 0 ? 0 : 1);
