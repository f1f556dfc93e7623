/**
 * Live view: every call in progress as a card (current sentiment per channel + timeline), the
 * calls that ended lately folded into a bounded "Recently ended" strip, and the alerts panel.
 * A call leaves the grid the moment its end arrives, so the grid only ever shows calls a
 * supervisor can still act on.
 */
import { Component } from 'preact';
import { AlertsPanel } from './AlertsPanel.js';
import { fmt, LABEL_GLYPH, LABEL_WORD, labelOf } from './format.js';
import { callPath, Link } from './Link.js';
import { type CallView, callName, latest, type Model, ordered, RECENTLY_ENDED } from './model.js';
import { Legend, Timeline } from './Timeline.js';
import type { Alert } from './types.js';

/** Segments per channel drawn on a live card (the call page shows all). */
const CARD_POINTS = 40;

const statusWord = (s: CallView['status']) => s.toLowerCase().replace('_', ' ');

/** customer and agent first, then any other channel the call has. */
function channelsOf(call: CallView): string[] {
  return ['customer', 'agent', ...[...call.channels.keys()].filter((c) => c !== 'customer' && c !== 'agent')];
}

function ChannelNow({ call, channel }: { call: CallView; channel: string }) {
  const s = latest(call.channels.get(channel));
  if (!s) return <div class="now" data-channel={channel}><span class="ch-name">{channel}</span> <span class="muted">no score yet</span></div>;
  return (
    <div class={`now lbl-${s.label}`} data-channel={channel} data-label={s.label}>
      <span class="ch-name">{channel}</span>{' '}
      <span class="glyph" aria-hidden="true">{LABEL_GLYPH[s.label]}</span> <span class="word">{LABEL_WORD[s.label]}</span>{' '}
      <span class="val">{fmt(s.valence)}</span>{' '}
      {s.textSource === 'RECOGNISED' && (
        <span class="badge nt recognised" title={`words recognised here: ${s.recognisedText ?? ''}`}>
          words recognised here
        </span>
      )}
      {s.textMissing && s.textSource !== 'RECOGNISED' && <span class="badge nt" title="scored without a transcript">no transcript</span>}
    </div>
  );
}

interface CardProps {
  call: CallView;
  version: number;
  alerts: Alert[];
}

/** Re-renders only when its call changed (version) or its alert count did. */
class CallCard extends Component<CardProps> {
  shouldComponentUpdate(next: CardProps) {
    return next.version !== this.props.version || next.alerts.length !== this.props.alerts.length;
  }

  render({ call, alerts }: CardProps) {
    const channels = channelsOf(call);
    const name = callName(call);
    const summary = channels.map((n) => `${n} ${fmt(latest(call.channels.get(n))?.valence)}`).join(', ');
    return (
      <li class={`card${alerts.length ? ' alerted' : ''}`} data-call={call.id} data-status={call.status} data-version={call.version}>
        <Link class="card-link" to={callPath(call.id)}>
          <span class="call-id">{name}</span>
          {name !== call.id && <span class="muted small call-raw-id">{call.id}</span>}
          {alerts.length > 0 && <span class="badge alert-badge">⚠ {alerts.length} alert{alerts.length > 1 ? 's' : ''}</span>}
        </Link>
        {channels.map((n) => <ChannelNow key={n} call={call} channel={n} />)}
        <Timeline
          width={300}
          height={96}
          lastN={CARD_POINTS}
          alerts={alerts}
          startedAt={call.startedAt}
          label={`Timeline of call ${name}, latest valence: ${summary}`}
          channels={channels.map((n) => ({ name: n, scores: ordered(call.channels.get(n)) }))}
        />
      </li>
    );
  }
}

/**
 * How a channel of an ended call ended: its last valence when the call was seen live, else (a
 * call loaded after it ended, without its scores) the mean of its last segments, said so.
 */
function EndedChannel({ call, channel }: { call: CallView; channel: string }) {
  const s = latest(call.channels.get(channel));
  if (s)
    return (
      <span class={`small lbl-${s.label}`} data-channel={channel} data-last="segment">
        {' '}
        {channel} <span aria-hidden="true">{LABEL_GLYPH[s.label]}</span> {fmt(s.valence)}
      </span>
    );
  const e = call.ending.find((x) => x.channel === channel);
  if (!e) return null;
  const label = labelOf(e.rollingValence);
  const n = Math.min(e.segments, e.rollingWindow);
  return (
    <span class={`small lbl-${label}`} data-channel={channel} data-last="rolling">
      {' '}
      {channel} <span aria-hidden="true">{LABEL_GLYPH[label]}</span> {fmt(e.rollingValence)} <span class="muted">(mean of last {n})</span>
    </span>
  );
}

/** The calls that ended lately: name, how they ended, last valence per channel, alerts. */
function RecentlyEnded({ calls, alerts }: { calls: CallView[]; alerts: Map<string, Alert[]> }) {
  if (calls.length === 0) return null;
  return (
    <section class="ended" aria-labelledby="ended-h" data-testid="ended-strip">
      <h2 id="ended-h">
        Recently ended <span class="count">{calls.length}</span>
      </h2>
      <ol class="ended-list">
        {calls.map((c) => {
          const n = alerts.get(c.id)?.length ?? 0;
          return (
            <li key={c.id} data-call={c.id} data-status={c.status}>
              <Link to={callPath(c.id)}>{callName(c)}</Link> <span class="badge">{statusWord(c.status)}</span>
              {[...new Set([...channelsOf(c), ...c.ending.map((e) => e.channel)])].map((ch) => <EndedChannel key={ch} call={c} channel={ch} />)}
              {n > 0 && <span class="badge alert-badge"> ⚠ {n}</span>}
            </li>
          );
        })}
      </ol>
    </section>
  );
}

const endedAtMs = (c: CallView) => (c.endedAt ? Date.parse(c.endedAt) : Number.NaN);

export function LiveView({ model }: { model: Model }) {
  const all = [...model.calls.values()];
  const active = all.filter((c) => c.status === 'ACTIVE').sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  // Newest end first; a call whose end time is unknown sorts by when we last heard of it.
  const ended = all
    .filter((c) => c.status !== 'ACTIVE')
    .sort((a, b) => (endedAtMs(b) || b.touchedAt) - (endedAtMs(a) || a.touchedAt))
    .slice(0, RECENTLY_ENDED);
  const byCall = new Map<string, Alert[]>();
  for (const a of model.alerts) {
    const xs = byCall.get(a.callId);
    if (xs) xs.push(a);
    else byCall.set(a.callId, [a]);
  }
  const none: Alert[] = [];
  return (
    <div class="live">
      <section class="calls" aria-labelledby="calls-h">
        <h2 id="calls-h" data-route-heading tabIndex={-1}>
          Calls in progress <span class="count" data-testid="active-count">{active.length}</span>
        </h2>
        <Legend />
        {active.length === 0 ? <p class="muted">No calls in progress. Calls appear here as soon as their first segment is scored.</p> : null}
        <ul class="cards">
          {active.map((c) => <CallCard key={c.id} call={c} version={c.version} alerts={byCall.get(c.id) ?? none} />)}
        </ul>
        <RecentlyEnded calls={ended} alerts={byCall} />
      </section>
      <AlertsPanel alerts={model.alerts} names={model} />
    </div>
  );
}
