/**
 * Entry: builds the model and the connection, loads a snapshot, follows the live subscriptions,
 * and renders at most once per animation frame. After a reconnect the scores resume through the
 * server's `segmentScored(since:)` (score-stream.ts) and calls and alerts are re-read.
 *
 * Measurements for the browser test (window.__dash): `renders` = ms spent in each render,
 * `latencies` = ms from the first unrendered change to the end of the render that shows it.
 * Both keep the last 5000 values. `resumes`: times the scores stream resumed from its cursor.
 */
import { render } from 'preact';
import { type ConnectionState, createApi } from './api.js';
import { App } from './App.js';
import { type ChannelEnding, Model, RECENTLY_ENDED } from './model.js';
import { type ApiFeatures, probeFeatures, sameFeatures } from './features.js';
import { configureQueries, queries } from './queries.js';
import { ScoreStream } from './score-stream.js';
import { focusRouteHeading, onRoute, parseRoute } from './router.js';
import type { Alert, CallNode, Score } from './types.js';
import './style.css';

const METRIC_CAP = 5000;
/** The live scores (created once the server's features are known). */
let scores: ScoreStream | null = null;
const metrics = {
  renders: [] as number[],
  latencies: [] as number[],
  snapshots: 0,
  get resumes(): number {
    return scores?.resumes ?? 0;
  },
};
(window as unknown as { __dash: typeof metrics }).__dash = metrics;
const push = (xs: number[], v: number) => {
  xs.push(v);
  if (xs.length > METRIC_CAP) xs.shift();
};

const model = new Model();
let conn: ConnectionState = 'connecting';
let scheduled = false;
/** The path last rendered: when it changes, focus moves to the new view's heading. */
let renderedPath: string | null = null;

const api = createApi({
  onState: (s) => {
    conn = s;
    schedule();
  },
  onReconnected: () => afterReconnect(),
});

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(draw);
}

function draw(): void {
  scheduled = false;
  const t0 = performance.now();
  const since = model.pendingSince;
  model.pendingSince = null;
  render(<App api={api} model={model} route={parseRoute()} conn={conn} version={model.version} />, document.getElementById('app') as HTMLElement);
  // Not on the first render: a fresh page load keeps the browser's own focus start (skip link).
  if (renderedPath !== null && renderedPath !== location.pathname) focusRouteHeading();
  renderedPath = location.pathname;
  const t1 = performance.now();
  push(metrics.renders, t1 - t0);
  if (since !== null) push(metrics.latencies, t1 - since);
}

model.onChange(schedule);
onRoute(schedule);

interface Snapshot {
  calls: { edges: { node: CallNode & { segments?: { edges: { node: Score }[] } } }[] };
  alerts: { edges: { node: Alert }[] };
}

/**
 * Loads (or, after a reconnect, re-loads and merges) the calls in progress and recent alerts;
 * `withScores`: the calls' scores too (at page open: after a reconnect they come back through
 * the resumed scores stream).
 */
async function loadSnapshot(withScores: boolean): Promise<void> {
  try {
    const r = await api.query<Snapshot>(withScores ? queries().liveSnapshot : queries().liveStatus, { first: 200 });
    const calls = r.calls.edges.map((e) => ({ node: e.node, scores: e.node.segments?.edges.map((s) => s.node) ?? [] }));
    model.applySnapshot(calls, r.alerts.edges.map((e) => e.node));
    // Calls shown as active that the snapshot no longer lists ended while we were away.
    const listed = new Set(calls.map((c) => c.node.id));
    const stale = [...model.calls.values()].filter((c) => c.status === 'ACTIVE' && !listed.has(c.id)).map((c) => c.id);
    if (stale.length) {
      const s = await api.query<Record<string, CallNode | null>>(queries().callStatuses(stale.slice(0, 100)));
      for (const n of Object.values(s)) if (n) model.applyCall(n);
    }
    // Calls that ended before this page opened (or while it was away) fill the strip too; their
    // scores are not loaded: the strip shows each channel's rolling valence instead of the last.
    type Ended = CallNode & { analytics: { channels: ChannelEnding[] } };
    const e = await api.query<Record<'ended' | 'timedOut', { edges: { node: Ended }[] }>>(queries().recentEnded, { first: RECENTLY_ENDED });
    model.applyEndings([...e.ended.edges, ...e.timedOut.edges].map((x) => ({ node: x.node, ending: x.node.analytics.channels })));
    metrics.snapshots++;
  } catch (e) {
    console.warn('snapshot failed; the next reconnect retries', e);
  }
}

let features: ApiFeatures | null = null;

/**
 * Runs inside graphql-ws's `connected` event. First, synchronously, the scores stream replaces
 * its operation with one resuming from its cursor (before graphql-ws re-sends the old one); then
 * the calls and alerts are re-read. The server may have been replaced by another version while
 * the socket was down (a deploy or a rollback): if its optional fields changed, the operations
 * would ask for fields it may not have, so the page reloads.
 */
function afterReconnect(): void {
  const resumed = scores?.resume() ?? false;
  void (async () => {
    if (features && !sameFeatures(features, await probeFeatures(api))) location.reload();
    else await loadSnapshot(!resumed);
  })();
}

/** Subscribes and loads the first snapshot once the queries match what the server has. */
async function follow(): Promise<void> {
  features = await probeFeatures(api);
  configureQueries(features);
  const q = queries();
  scores = new ScoreStream(api, () => queries().scoresSub, (s) => model.applyScore(s));
  scores.open();
  api.subscribe<{ callUpdated: CallNode }>(q.callsSub, (d) => model.applyCall(d.callUpdated));
  api.subscribe<{ alerts: Alert }>(q.alertsSub, (d) => model.applyAlert(d.alerts));
  await loadSnapshot(true);
}
void follow();
schedule();
