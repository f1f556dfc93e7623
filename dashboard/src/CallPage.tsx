/**
 * One call: its timeline, summary and talk analytics per channel, alerts, and every segment with its
 * text and where that text came from (the platform's transcript, words recognised here from the
 * audio, or a representation simulated from it) and which modality drove the score. Scores
 * that arrive live for this call (and revisions) are merged into what was queried.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Api } from './api.js';
import { dateTime, fmt, LABEL_GLYPH, LABEL_WORD, RULE_WORD, time } from './format.js';
import { callName, type Model } from './model.js';
import { queries } from './queries.js';
import { TalkTable } from './TalkTable.js';
import { Throttle } from './throttle.js';
import { Legend, Timeline } from './Timeline.js';
import type { Alert, CallNode, ChannelAnalytics, Score, TalkAnalytics } from './types.js';

interface CallData {
  call:
    | (CallNode & {
        /** talk: only where the server has Call.analytics.talk (features.ts). */
        analytics: { channels: ChannelAnalytics[]; alerts: Alert[]; talk?: TalkAnalytics };
        segments: { edges: { node: Score }[] };
      })
    | null;
}

/**
 * Live updates (a new score or revision, a new stored segment from callUpdated) re-read the
 * call at most this often, ms: each read recomputes the summary and talk analytics from all the
 * call's scores on the server, and a talking call sends updates several times a second.
 */
const REFRESH_MS = 2000;

export function CallPage({ api, model, id }: { api: Api; model: Model; id: string }) {
  const [data, setData] = useState<CallData['call'] | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const live = model.calls.get(id);
  // What live updates changed: a score or revision (version), a stored segment (segmentCount).
  const liveKey = `${live?.version ?? 0}/${live?.segmentCount ?? 0}`;
  const refresh = useRef<{ throttle: Throttle; key: string } | null>(null);

  useEffect(() => {
    let alive = true;
    setData(undefined);
    const throttle = new Throttle(REFRESH_MS, () =>
      api.query<CallData>(queries().callPage, { id }).then(
        (r) => alive && (setData(r.call), setError(null)),
        (e) => alive && setError(e instanceof Error ? e.message : String(e)),
      ),
    );
    refresh.current = { throttle, key: liveKey };
    throttle.poke();
    return () => {
      alive = false;
      throttle.stop();
    };
  }, [id]);

  useEffect(() => {
    const r = refresh.current;
    if (!r || r.key === liveKey) return;
    r.key = liveKey;
    r.throttle.poke();
  }, [liveKey]);

  const name = callName({ id, displayName: data?.displayName ?? live?.displayName });
  // The heading is there from the first render, so focus can land on it on route change.
  const heading = (
    <h2 id="call-h" data-route-heading tabIndex={-1}>
      Call {name} {data && <span class="badge">{(live?.status ?? data.status).toLowerCase().replace('_', ' ')}</span>}
    </h2>
  );
  if (error || !data)
    return (
      <article class="call-page" aria-labelledby="call-h" data-call={id}>
        {heading}
        {error ? (
          <p role="alert" class="error">
            Could not load call {id}: {error}
          </p>
        ) : data === undefined ? (
          <p aria-busy="true">Loading call {id}…</p>
        ) : (
          <p role="alert">Call {id} was not found.</p>
        )}
      </article>
    );

  // Queried scores, overridden by newer revisions that arrived live.
  const byKey = new Map<string, Score>();
  for (const e of data.segments.edges) byKey.set(`${e.node.channel}/${e.node.segmentIndex}`, e.node);
  if (live) {
    for (const [ch, m] of live.channels) {
      for (const s of m.values()) {
        const k = `${ch}/${s.segmentIndex}`;
        const prev = byKey.get(k);
        if (!prev || prev.revision < s.revision) byKey.set(k, s);
      }
    }
  }
  const scores = [...byKey.values()].sort((a, b) => a.startMs - b.startMs || (a.channel < b.channel ? -1 : 1));
  const channelNames = [...new Set(['customer', 'agent', ...scores.map((s) => s.channel)])].filter((c) => scores.some((s) => s.channel === c));
  const alerts = [...new Map([...data.analytics.alerts, ...model.alertsOf(id)].map((a) => [a.id, a])).values()];
  const alertAt = new Set(alerts.map((a) => `${a.channel}/${a.segmentIndex}`));

  return (
    <article class="call-page" aria-labelledby="call-h" data-call={id}>
      {heading}
      <p class="muted">
        {name !== id && <>Call id {id} · </>}
        Started {dateTime(data.startedAt)}
        {data.endedAt ? ` · ended ${dateTime(data.endedAt)}` : ''} · {scores.length} segments
      </p>
      <Legend />
      <Timeline
        width={900}
        height={240}
        focusable
        alerts={alerts}
        startedAt={data.startedAt}
        label={`Timeline of call ${name}: ${scores.length} segments, ${alerts.length} alerts; Tab to the points, arrow keys move between them`}
        channels={channelNames.map((n) => ({ name: n, scores: scores.filter((s) => s.channel === n) }))} />
      <h3>Summary</h3>
      <table class="summary">
        <thead>
          <tr>
            <th scope="col">Channel</th>
            <th scope="col">Segments</th>
            <th scope="col">Mean</th>
            <th scope="col">Min</th>
            <th scope="col">Max</th>
            <th scope="col">Rolling (last N)</th>
            <th scope="col">Trend (last third − first third)</th>
            <th scope="col">Without transcript</th>
          </tr>
        </thead>
        <tbody>
          {data.analytics.channels.map((c) => (
            <tr key={c.channel} data-channel={c.channel}>
              <th scope="row">{c.channel}</th>
              <td>{c.segments}</td>
              <td data-field="mean">{fmt(c.meanValence)}</td>
              <td>{fmt(c.minValence)}</td>
              <td>{fmt(c.maxValence)}</td>
              <td>
                {fmt(c.rollingValence)} (N={c.rollingWindow})
              </td>
              <td>{c.trend === null ? 'too short' : `${fmt(c.trend)} ${c.trend > 0 ? '↗ better' : c.trend < 0 ? '↘ worse' : '→ flat'}`}</td>
              <td>{Math.round(c.textMissingShare * 100)}%</td>
            </tr>
          ))}
        </tbody>
      </table>
      {data.analytics.talk && <TalkTable talk={data.analytics.talk} live={(live?.status ?? data.status) === 'ACTIVE'} />}
      <h3>Alerts ({alerts.length})</h3>
      {alerts.length === 0 ? (
        <p class="muted">No alerts on this call.</p>
      ) : (
        <ul class="call-alerts">
          {alerts.map((a) => (
            <li key={a.id} data-alert={a.id}>
              <span aria-hidden="true">⚠</span> <strong>{RULE_WORD[a.rule] ?? a.rule}</strong> at segment {a.segmentIndex}: {a.message}
            </li>
          ))}
        </ul>
      )}
      <h3>Segments</h3>
      <table class="segments">
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Channel</th>
            <th scope="col">#</th>
            <th scope="col">Valence</th>
            <th scope="col">Driven by</th>
            <th scope="col">Text and where it came from</th>
          </tr>
        </thead>
        <tbody>
          {scores.map((s) => (
            <tr key={`${s.channel}/${s.segmentIndex}`} data-seg={s.segmentIndex} data-channel={s.channel} data-rev={s.revision} class={alertAt.has(`${s.channel}/${s.segmentIndex}`) ? 'alerted' : ''}>
              <td>{time(s.startMs)}</td>
              <td>{s.channel}</td>
              <td>
                {s.segmentIndex}
                {s.revision > 0 && <span class="muted small"> rev {s.revision}</span>}
              </td>
              <td class={`lbl-${s.label}`}>
                <span aria-hidden="true">{LABEL_GLYPH[s.label]}</span> {fmt(s.valence)} {LABEL_WORD[s.label]}
              </td>
              <td>
                {s.dominantModality ?? dominant(s)} <span class="muted small">(t {pct(s.modalityWeights.text)} · a {pct(s.modalityWeights.audio)} · v {pct(s.modalityWeights.video)})</span>
              </td>
              <td data-field="text" data-source={s.textSource}>
                <SegmentText s={s} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </article>
  );
}

/** A segment's words and their source: transcript, words recognised here, or none (simulated). */
function SegmentText({ s }: { s: Score }) {
  switch (s.textSource) {
    case 'PLATFORM':
      return (
        <>
          <q>{s.text}</q> <span class="muted small">(platform transcript)</span>
        </>
      );
    case 'RECOGNISED':
      return (
        <>
          <span class="badge nt recognised">words recognised here</span> <q class="recognised-text">{s.recognisedText}</q>{' '}
          <span class="muted small">(no transcript arrived)</span>
        </>
      );
    case 'SIMULATED':
      return <span class="badge nt">no transcript – text simulated from audio, no words</span>;
    default:
      return <span class="badge nt">no text</span>;
  }
}

const pct = (x: number) => `${Math.round(x * 100)}%`;

function dominant(s: Score): string {
  const w = s.modalityWeights;
  return w.text >= w.audio && w.text >= w.video ? 'text' : w.audio >= w.video ? 'audio' : 'video';
}
