/**
 * Throughput of decode and window (CPU time, not wall: the machine is shared).
 * Run: nice -n 10 node --import tsx test/window/throughput.bench.ts
 * 100 two-channel calls x 10 s of 20 ms audio chunks, alternating 1.5 s speech turns.
 */
import { Windower } from '../../src/window/windower.js';
import { createDecoder } from '../../src/ingest/decode.js';
import { audioChunk, callStart, rawAudio, tone, silence } from '../support/chunks.js';
const w = new Windower();
const calls = 100, seconds = 10, chunkMs = 20;
const speech = tone(chunkMs), quiet = silence(chunkMs);
const chunks = [];
for (let c = 0; c < calls; c++) w.accept(callStart({ callId: 'c' + c }), 0);
let n = 0, segs = 0; const c0 = process.cpuUsage();
for (let k = 0; k < (seconds * 1000) / chunkMs; k++) {
  for (let c = 0; c < calls; c++) for (const ch of ['customer', 'agent']) {
    const talking = Math.floor((k * chunkMs) / 1500) % 2 === (ch === 'agent' ? 1 : 0);
    const ev = w.accept(audioChunk({ callId: 'c' + c, channel: ch, seq: k, eventTimeMs: 1e12 + k * chunkMs, samples: talking ? speech : quiet }), k);
    n++; for (const e of ev) if (e.type === 'segment') segs++;
  }
}
const cu = process.cpuUsage(c0); const dt = (cu.user + cu.system) / 1e6;
console.log(`window: ${n} chunks in ${dt.toFixed(2)} s CPU = ${(n / dt).toFixed(0)} chunks/s; ${segs} segments; rss ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`);
const dec = createDecoder();
const r16 = rawAudio({ samples: tone(20) }), r8 = rawAudio({ samples: tone(20, 8000), sampleRate: 8000 });
for (const [name, r] of [['16k', r16], ['8k', r8]] as const) {
  const c1 = process.cpuUsage(); for (let i = 0; i < 50000; i++) dec(r); const u = process.cpuUsage(c1); console.log(`decode ${name} 20 ms: ${((u.user + u.system) / 50000).toFixed(1)} us CPU/chunk`);
}
