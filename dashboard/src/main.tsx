/**
 * Entry: builds the model and the connection, loads a snapshot, follows the live subscriptions,
 * and renders at most once per animation frame.
 *
 * Measurements for the browser test (window.__dash): `renders` = ms spent in each render,
 * `latencies` = ms from the first unrendered change to the end of the render that shows it.
 * Both keep the last 5000 values.
 */
import { render } from 'preact';
import { type ConnectionState, createApi } from './api.js';
import { App } from './App.js';
import { type ChannelEnding, Model, RECENTLY_ENDED } from './model.js';
import { type ApiFeatures, probeFeatures, sameFeatures } from './features.js';
import { configureQueries, queries } from './queries.js';
import { GapRepair } from './repair.js';
import { focusRouteHeading, onRoute, parseRoute } from './router.js';
import type { Alert, CallNode, Score } from './types.js';
import './style.css';

const METRIC_CAP = 5000;
const metrics = { renders: [] as number[], latencies: [] as number[], snapshots: 0, repaired: 0 };
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
  onReconnected: () => void afterReconnect(),
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
  calls: { edges: { node: CallNode & { segments: { edges: { node: Score }[] } } }[] };
  alerts: { edges: { node: Alert }[] };
}

/** Loads (or, after a reconnect, re-loads and merges) the calls in progress and recent alerts. */
async function loadSnapshot(): Promise<void> {
  try {
    const r = await api.query<Snapshot>(queries().liveSnapshot, { first: 200 });
    const calls = r.calls.edges.map((e) => ({ node: e.node, scores: e.node.segments.edges.map((s) => s.node) }));
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
 * The server may have been replaced by another version while the socket was down (a deploy or
 * a rollback): if its optional fields changed, the live subscriptions graphql-ws re-sends would
 * ask for fields it may not have, so the page reloads; otherwise it re-reads what it missed.
 */
async function afterReconnect(): Promise<void> {
  if (features && !sameFeatures(features, await probeFeatures(api))) location.reload();
  else await loadSnapshot();
}

/** Subscribes and loads the first snapshot once the queries match what the server has. */
async function follow(): Promise<void> {
  features = await probeFeatures(api);
  configureQueries(features);
  const q = queries();
  const repair = new GapRepair(api, model);
  api.subscribe<{ segmentScored: Score }>(q.scoresSub, (d) => {
    model.applyScore(d.segmentScored);
    repair.check(d.segmentScored);
    metrics.repaired = repair.repaired;
  });
  api.subscribe<{ callUpdated: CallNode }>(q.callsSub, (d) => {
    model.applyCall(d.callUpdated);
    // A call that ended may have lost its last scores on the way: fetch them once.
    if (d.callUpdated.status !== 'ACTIVE') repair.want(d.callUpdated.id);
  });
  api.subscribe<{ alerts: Alert }>(q.alertsSub, (d) => model.applyAlert(d.alerts));
  await loadSnapshot();
}
void follow();
schedule();
