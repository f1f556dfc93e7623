/** Live view: every call in progress as a card (current sentiment per channel + timeline), and the alerts panel. */
import { Component } from 'preact';
import { AlertsPanel } from './AlertsPanel.js';
import { fmt, LABEL_GLYPH, LABEL_WORD } from './format.js';
import { type CallView, latest, type Model, ordered } from './model.js';
import { navigate } from './router.js';
import { Legend, Timeline } from './Timeline.js';

/** Segments per channel drawn on a live card (the call page shows all). */
const CARD_POINTS = 40;

function ChannelNow({ call, channel }: { call: CallView; channel: string }) {
  const s = latest(call.channels.get(channel));
  if (!s) return <div class="now" data-channel={channel}><span class="ch-name">{channel}</span> <span class="muted">no score yet</span></div>;
  return (
    <div class={`now lbl-${s.label}`} data-channel={channel} data-label={s.label}>
      <span class="ch-name">{channel}</span>{' '}
      <span class="glyph" aria-hidden="true">{LABEL_GLYPH[s.label]}</span> <span class="word">{LABEL_WORD[s.label]}</span>{' '}
      <span class="val">{fmt(s.valence)}</span>
      {s.textMissing && <span class="badge nt" title="scored without a transcript">no transcript</span>}
    </div>
  );
}

interface CardProps {
  call: CallView;
  version: number;
  alertCount: number;
}

/** Re-renders only when its call changed (version) or its alert count did. */
class CallCard extends Component<CardProps> {
  shouldComponentUpdate(next: CardProps) {
    return next.version !== this.props.version || next.alertCount !== this.props.alertCount;
  }

  render({ call, alertCount }: CardProps) {
    const names = ['customer', 'agent', ...[...call.channels.keys()].filter((c) => c !== 'customer' && c !== 'agent')];
    const channels = names.filter((n) => call.channels.has(n) || n === 'customer' || n === 'agent');
    const summary = channels.map((n) => `${n} ${fmt(latest(call.channels.get(n))?.valence)}`).join(', ');
    return (
      <li class={`card${alertCount ? ' alerted' : ''}`} data-call={call.id} data-version={call.version}>
        <a
          class="card-link"
          href={`/call/${encodeURIComponent(call.id)}`}
          onClick={(e) => {
            e.preventDefault();
            navigate(`/call/${encodeURIComponent(call.id)}`);
          }}
        >
          <span class="call-id">{call.id}</span>
          {call.status !== 'ACTIVE' && <span class="badge">{call.status.toLowerCase().replace('_', ' ')}</span>}
          {alertCount > 0 && <span class="badge alert-badge">⚠ {alertCount} alert{alertCount > 1 ? 's' : ''}</span>}
        </a>
        {channels.map((n) => <ChannelNow key={n} call={call} channel={n} />)}
        <Timeline
          width={300}
          height={90}
          lastN={CARD_POINTS}
          label={`Timeline of call ${call.id}, latest valence: ${summary}`}
          channels={channels.map((n) => ({ name: n, scores: ordered(call.channels.get(n)) }))}
        />
      </li>
    );
  }
}

export function LiveView({ model }: { model: Model }) {
  const calls = [...model.calls.values()].sort((a, b) => (a.status === 'ACTIVE' ? 0 : 1) - (b.status === 'ACTIVE' ? 0 : 1) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const counts = new Map<string, number>();
  for (const a of model.alerts) counts.set(a.callId, (counts.get(a.callId) ?? 0) + 1);
  const active = calls.filter((c) => c.status === 'ACTIVE').length;
  return (
    <div class="live">
      <section class="calls" aria-labelledby="calls-h">
        <h2 id="calls-h">
          Calls in progress <span class="count" data-testid="active-count">{active}</span>
        </h2>
        <Legend />
        {calls.length === 0 ? <p class="muted">No calls yet. Calls appear here as soon as their first segment is scored.</p> : null}
        <ul class="cards">
          {calls.map((c) => <CallCard key={c.id} call={c} version={c.version} alertCount={counts.get(c.id) ?? 0} />)}
        </ul>
      </section>
      <AlertsPanel alerts={model.alerts} />
    </div>
  );
}
