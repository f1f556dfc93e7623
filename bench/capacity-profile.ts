/**
 * Where a call's CPU goes (issue 14): reads the V8 CPU profiles that `bench/capacity.ts
 * --cpu-prof DIR` writes for the server (one .cpuprofile per thread: the main thread and each
 * scorer worker) and the steady window it records beside them (window.json: the window's bounds
 * on the profiles' clock, the call-seconds streamed in it, each thread's CPU from /proc), and
 * prints the server's cost per stage in core-ms per call-second.
 *
 *   nice node --import tsx bench/capacity.ts --loads 50 --seconds 30 --warmup 10 --cpu-prof /tmp/cap-prof
 *   node --import tsx bench/capacity-profile.ts /tmp/cap-prof [--top 25]
 *
 * How a sample is attributed: only samples inside the steady window count. A sample goes to the
 * stage of the deepest frame of this repository's src/ on its stack (so a library called by a
 * stage, e.g. better-sqlite3 under the store, counts for that stage); with no src/ frame, to the
 * library that runs it (ws, graphql-ws, graphql) or to "node internals"; V8's own pseudo-frames
 * "(garbage collector)" and "(program)" are rows of their own; "(idle)" is not CPU and is left out.
 *
 * Why the profiles are scaled: the profiler samples wall time, so on a busy box a thread that
 * waits for a core still collects samples. Each thread's non-idle samples are therefore scaled
 * to that thread's measured CPU time (utime + stime, /proc/<pid>/task) in the window. Threads no
 * JS profile sees (libuv's pool, where onnxruntime-node runs the graphs; V8's helper threads:
 * concurrent GC and compilation) are rows of their own, from /proc alone.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface Profile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }
interface Window {
  load: number; preset: string; variant: string; startUs: number; endUs: number; callSeconds: number;
  serverCpuMs: number; segmentsInWindow: number; threads: { tid: string; name: string; cpuMs: number }[]; loadavg: number[];
}

/** Stages of the pipeline by source file (first match wins), in the order of the data's path. */
const STAGES: [string, RegExp][] = [
  ['ingest: WebSocket endpoint, frame JSON + base64', /\/src\/ingest\/ws\//],
  ['ingest: chunk contract decode', /\/src\/ingest\/(decode|headers|encode)\.ts/],
  ['ingest: resample', /\/src\/ingest\/resample\.ts/],
  ['ingest: other', /\/src\/ingest\//],
  ['window: VAD', /\/src\/window\/vad\.ts/],
  ['window: talk spans', /\/src\/window\/talk\.ts/],
  ['window: windowing, commit hold', /\/src\/window\//],
  ['scorer worker: tokenise', /\/src\/score\/tokenizer\.ts/],
  ['scorer worker: features (log-mel, fusion inputs)', /\/src\/score\/features\.ts/],
  ['scorer worker: speech path (JS side)', /\/src\/score\/speech/],
  ['scorer worker: onnxruntime calls (JS side)', /\/src\/score\/(inference|onnx-scorer|worker|providers)\.ts|onnxruntime/],
  ['scorer main: batcher, pool, postMessage', /\/src\/score\//],
  ['store', /\/src\/store\//],
  ['publish, hub', /\/src\/publish\//],
  ['analytics', /\/src\/analytics\//],
  ['graphql', /\/src\/graphql\//],
  ['app wiring (pipeline, ws-ingest, metrics)', /\/src\/app\//],
  ['other src', /\/src\//],
];
/** Libraries that run with no src/ frame above them (event-loop callbacks). */
const LIBRARIES: [string, RegExp][] = [
  ['ws library (socket reads, frames; no src frame)', /node_modules\/ws\//],
  ['graphql-ws / graphql (no src frame)', /node_modules\/graphql/],
  ['better-sqlite3 (no src frame)', /node_modules\/better-sqlite3/],
  ['tsx loader', /node_modules\/(tsx|esbuild|get-tsconfig)/],
  ['other node_modules (no src frame)', /node_modules\//],
  ['node internals (no src frame: streams, timers, net)', /^node:|^internal\//],
];

function stageOf(stack: CallFrame[]): string {
  // stack: leaf first. The graphs run synchronously inside onnxruntime-node's binding, in the worker.
  if (stack.some((f) => /node_modules\/onnxruntime-(node|common)\//.test(f.url))) return 'scorer worker: onnxruntime graph runs (the model)';
  for (const f of stack) if (f.url.includes('/src/')) for (const [name, re] of STAGES) if (re.test(f.url)) return name;
  const leaf = stack[0];
  if (leaf.functionName === '(garbage collector)') return 'GC (on the thread)';
  if (leaf.functionName === '(program)') return '(program): native, not attributed by V8';
  for (const f of stack) for (const [name, re] of LIBRARIES) if (re.test(f.url)) return name;
  return 'builtins / other (no src frame)';
}

interface ThreadProfile { file: string; role: string; byStage: Map<string, number>; bySelf: Map<string, number>; busyUs: number; idleUs: number }

function analyse(file: string, w: Window): ThreadProfile {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const stageCache = new Map<number, string>();
  const stack = (id: number): CallFrame[] => {
    const out: CallFrame[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) out.push(byId.get(at)!.callFrame);
    return out;
  };
  const byStage = new Map<string, number>();
  const bySelf = new Map<string, number>();
  let busyUs = 0;
  let idleUs = 0;
  let role = 'main';
  for (const n of p.nodes) if (/\/src\/score\/worker\.ts/.test(n.callFrame.url)) role = 'scorer worker';
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i];
    // a sample stands for the time until the next one (as Chrome's profiler shows it)
    const dur = i + 1 < p.timeDeltas.length ? p.timeDeltas[i + 1] : 0;
    if (t < w.startUs || t > w.endUs || dur <= 0) continue;
    const id = p.samples[i];
    const leaf = byId.get(id)!.callFrame;
    if (leaf.functionName === '(idle)') {
      idleUs += dur;
      continue;
    }
    let stage = stageCache.get(id);
    if (stage === undefined) stageCache.set(id, (stage = stageOf(stack(id))));
    byStage.set(stage, (byStage.get(stage) ?? 0) + dur);
    const self = `${leaf.functionName || '(anonymous)'} ${leaf.url.replace(/^.*\/(src|node_modules)\//, '$1/')}:${leaf.lineNumber + 1}`;
    bySelf.set(self, (bySelf.get(self) ?? 0) + dur);
    busyUs += dur;
  }
  return { file, role, byStage, bySelf, busyUs, idleUs };
}

/** The thread rows of /proc no JS profile covers, grouped by thread name. */
function nativeGroup(name: string): string | null {
  if (/^libuv-worker/.test(name)) return 'native: libuv pool (fs, dns, zlib)';
  if (/^V8Worker|^V8 /.test(name)) return 'native: V8 helper threads (concurrent GC marking/sweeping, compiler)';
  if (/^v8:ProfEvntProc/.test(name)) return null; // the profiler's own thread: not the server's cost
  return `native: other threads (${name})`;
}

const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '20' } }, allowPositionals: true });
const root = positionals[0];
if (!root) throw new Error('usage: capacity-profile.ts DIR (the --cpu-prof DIR of bench/capacity.ts)');
const runs = readdirSync(root).map((d) => join(root, d)).filter((d) => statSync(d).isDirectory() && readdirSync(d).includes('window.json'));
if (!runs.length) throw new Error(`no run folder with window.json under ${root}`);

for (const dir of runs.sort()) {
  const w = JSON.parse(readFileSync(join(dir, 'window.json'), 'utf8')) as Window;
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f));
  if (!files.length) throw new Error(`${dir}: no .cpuprofile (did the server exit cleanly?)`);
  const profiles = files.map((f) => analyse(f, w)).filter((t) => t.busyUs + t.idleUs > 0);
  // Profiled threads: the main thread is the process's first (tid = pid); the Node worker
  // threads are the other threads that ran JS. Their CPU comes from /proc, matched by role:
  // the main thread by tid, the workers' share from the threads left once the known native
  // ones (libuv pool, V8 helpers) are set apart.
  const pidDir = readdirSync(dir).find((f) => /^CPU\..*\.(\d+)\.\d+\.cpuprofile$/.test(f));
  const pid = pidDir ? /^CPU\.\d+\.\d+\.(\d+)\./.exec(pidDir)?.[1] : undefined;
  const main = w.threads.find((t) => t.tid === pid) ?? w.threads[0];
  const natives = new Map<string, number>();
  let workerCpuMs = 0;
  let profilerMs = 0;
  for (const t of w.threads) {
    if (t === main) continue;
    if (t.name === 'WorkerThread') {
      workerCpuMs += t.cpuMs;
      continue;
    }
    const group = nativeGroup(t.name);
    if (group === null) profilerMs += t.cpuMs;
    else natives.set(group, (natives.get(group) ?? 0) + t.cpuMs);
  }
  const workerProfiles = profiles.filter((p) => p.role !== 'main');
  const mainProfiles = profiles.filter((p) => p.role === 'main');
  const rows = new Map<string, number>();
  const selfRows = new Map<string, number>();
  const add = (group: ThreadProfile[], cpuMs: number, prefix: string) => {
    const busy = group.reduce((s, p) => s + p.busyUs, 0);
    if (busy <= 0) return;
    for (const p of group) {
      for (const [stage, us] of p.byStage) rows.set(`${prefix}${stage}`, (rows.get(`${prefix}${stage}`) ?? 0) + (us / busy) * cpuMs);
      for (const [fn, us] of p.bySelf) selfRows.set(`${prefix}${fn}`, (selfRows.get(`${prefix}${fn}`) ?? 0) + (us / busy) * cpuMs);
    }
  };
  add(mainProfiles, main.cpuMs, 'main | ');
  add(workerProfiles, workerCpuMs, 'worker | ');
  for (const [name, ms] of natives) rows.set(name, ms);
  const perCallS = (ms: number) => (ms / w.callSeconds).toFixed(3);
  const total = [...rows.values()].reduce((a, b) => a + b, 0);
  console.log(`\n## ${dir}: ${w.load} calls, ${w.preset}, ${w.variant}; window ${((w.endUs - w.startUs) / 1e6).toFixed(1)} s, ${w.callSeconds.toFixed(0)} call-s, ${w.segmentsInWindow} first scores; load average ${w.loadavg.map((x) => x.toFixed(1)).join(' ')}`);
  console.log(`server CPU ${w.serverCpuMs} ms = ${perCallS(w.serverCpuMs)} core-ms per call-second, of which the profiler's own thread ${perCallS(profilerMs)}; the table sums ${perCallS(total)}; main thread ${perCallS(main.cpuMs)}, scorer worker(s) ${perCallS(workerCpuMs)} (${workerProfiles.length} profiled)`);
  console.log(`main thread profile: ${(mainProfiles.reduce((s, p) => s + p.busyUs, 0) / 1e3).toFixed(0)} ms busy, ${(mainProfiles.reduce((s, p) => s + p.idleUs, 0) / 1e3).toFixed(0)} ms idle (wall, sampled)\n`);
  console.log('| stage | core-ms / call-s | share |');
  console.log('|---|---|---|');
  for (const [stage, ms] of [...rows].sort((a, b) => b[1] - a[1])) console.log(`| ${stage} | ${perCallS(ms)} | ${((100 * ms) / total).toFixed(1)}% |`);
  console.log(`\ntop ${values.top} functions by self time (core-ms / call-s):`);
  for (const [fn, ms] of [...selfRows].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) console.log(`  ${perCallS(ms).padStart(7)}  ${fn}`);
}
