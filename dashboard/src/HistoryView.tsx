/**
 * History: the most recent calls as soon as the view opens (the server's order: last scored
 * first), then search by time range, sentiment (mean valence class of a channel) and alerts.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Api } from './api.js';
import { dateTime, fmt, LABEL_GLYPH, LABEL_WORD, labelOf } from './format.js';
import { callPath, Link } from './Link.js';
import { callName } from './model.js';
import { queries } from './queries.js';
import type { ChannelAnalytics } from './types.js';

interface Row {
  callId: string;
  firstMs: number;
  lastMs: number;
  alertCount: number;
  channels: ChannelAnalytics[];
  call: { status: string; displayName?: string | null } | null;
}

interface SearchResult {
  searchCalls: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: Row }[] };
}

const toMs = (local: string): number | undefined => (local ? new Date(local).getTime() : undefined);

export function HistoryView({ api }: { api: Api }) {
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [sentiment, setSentiment] = useState('');
  const [channel, setChannel] = useState('customer');
  const [alerts, setAlerts] = useState('');
  const [rows, setRows] = useState<Row[] | null>(null);
  const [total, setTotal] = useState(0);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  /** False while the list is the recent calls shown on opening; true after a search. */
  const [searched, setSearched] = useState(false);
  /** Only the newest request's answer is shown (a search sent while the recent list loads wins). */
  const latestRequest = useRef(0);

  useEffect(() => void run(undefined, false), []);

  async function run(after?: string, isSearch = true) {
    const request = ++latestRequest.current;
    setBusy(true);
    setError(null);
    try {
      const filter = {
        fromMs: toMs(from),
        toMs: toMs(to),
        channel,
        sentiment: sentiment || undefined,
        hasAlerts: alerts === '' ? undefined : alerts === 'yes',
      };
      const r = await api.query<SearchResult>(queries().search, { filter, first: 50, after });
      if (request !== latestRequest.current) return;
      const got = r.searchCalls.edges.map((e) => e.node);
      setRows(after && rows ? [...rows, ...got] : got);
      setTotal(r.searchCalls.totalCount);
      setNext(r.searchCalls.pageInfo.hasNextPage ? r.searchCalls.pageInfo.endCursor : null);
      if (!after) setSearched(isSearch);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="history" aria-labelledby="history-h">
      <h2 id="history-h" data-route-heading tabIndex={-1}>
        Call history
      </h2>
      <form
        class="search"
        onSubmit={(e) => {
          e.preventDefault();
          void run();
        }}
      >
        <label>
          From <input type="datetime-local" name="from" value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
        </label>
        <label>
          To <input type="datetime-local" name="to" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
        </label>
        <label>
          Channel
          <select name="channel" value={channel} onChange={(e) => setChannel(e.currentTarget.value)}>
            <option value="customer">customer</option>
            <option value="agent">agent</option>
          </select>
        </label>
        <label>
          Mean sentiment
          <select name="sentiment" value={sentiment} onChange={(e) => setSentiment(e.currentTarget.value)}>
            <option value="">any</option>
            <option value="NEGATIVE">negative</option>
            <option value="NEUTRAL">neutral</option>
            <option value="POSITIVE">positive</option>
          </select>
        </label>
        <label>
          Alerts
          <select name="alerts" value={alerts} onChange={(e) => setAlerts(e.currentTarget.value)}>
            <option value="">any</option>
            <option value="yes">with alerts</option>
            <option value="no">without alerts</option>
          </select>
        </label>
        <button type="submit" disabled={busy}>
          Search
        </button>
      </form>
      {error && (
        <p role="alert" class="error">
          Search failed: {error}
        </p>
      )}
      {rows && (
        <>
          <p aria-live="polite" data-testid="result-count" data-searched={searched ? 'true' : 'false'}>
            {searched ? `${total} call${total === 1 ? '' : 's'} found` : `Most recent calls (${total} stored)`}
          </p>
          <table class="results">
            <caption class="sr-only">{searched ? 'Calls matching the search' : 'Most recent calls'}</caption>
            <thead>
              <tr>
                <th scope="col">Call</th>
                <th scope="col">Time</th>
                <th scope="col">Status</th>
                <th scope="col">Customer mean</th>
                <th scope="col">Agent mean</th>
                <th scope="col">Alerts</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.callId} data-call={r.callId}>
                  <td>
                    <Link to={callPath(r.callId)}>{callName({ id: r.callId, displayName: r.call?.displayName })}</Link>
                  </td>
                  <td>
                    {dateTime(r.firstMs)} – {dateTime(r.lastMs)}
                  </td>
                  <td>{r.call?.status.toLowerCase() ?? 'unknown'}</td>
                  {['customer', 'agent'].map((c) => {
                    const a = r.channels.find((x) => x.channel === c);
                    if (!a) return <td key={c}>–</td>;
                    const l = labelOf(a.meanValence);
                    return (
                      <td key={c} class={`lbl-${l}`}>
                        <span aria-hidden="true">{LABEL_GLYPH[l]}</span> {fmt(a.meanValence)} {LABEL_WORD[l]}
                      </td>
                    );
                  })}
                  <td>{r.alertCount > 0 ? `⚠ ${r.alertCount}` : '0'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {next && (
            <button type="button" onClick={() => void run(next)} disabled={busy}>
              More
            </button>
          )}
        </>
      )}
    </section>
  );
}
