/** The alerts panel: newest first, announced politely to screen readers, each a link to its call. */
import { RULE_WORD, time } from './format.js';
import { callPath, Link } from './Link.js';
import { callName, type Model } from './model.js';
import type { Alert } from './types.js';

export function AlertsPanel({ alerts, names }: { alerts: Alert[]; names: Pick<Model, 'calls'> }) {
  return (
    <aside class="alerts" aria-labelledby="alerts-h">
      <h2 id="alerts-h">
        Alerts <span class="count" data-testid="alert-count">{alerts.length}</span>
      </h2>
      <ol class="alert-list" aria-live="polite" aria-relevant="additions">
        {alerts.length === 0 && <li class="muted">No alerts.</li>}
        {alerts.slice(0, 50).map((a) => (
          <li key={a.id} class={`alert rule-${a.rule}`} data-alert={a.id} data-call={a.callId}>
            <span class="alert-icon" aria-hidden="true">⚠</span>
            <Link to={callPath(a.callId)}>
              <strong>{RULE_WORD[a.rule] ?? a.rule}</strong> · {callName(names.calls.get(a.callId) ?? { id: a.callId })}
            </Link>
            <div class="alert-msg">{a.message}</div>
            <div class="muted small">
              segment {a.segmentIndex} · {time(a.eventTimeMs)}
            </div>
          </li>
        ))}
      </ol>
    </aside>
  );
}
