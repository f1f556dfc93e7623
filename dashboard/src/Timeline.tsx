/**
 * A call's timeline as SVG: valence (y) over event time since the call started (x, m:ss ticks),
 * one line per channel, alerts as ⚠ markers with a dashed rule at their segment. The valence
 * axis follows what is shown (scale.ts), so small swings stay visible.
 *
 * Not colour alone: customer = solid line + circles, agent = dashed line + squares; a segment
 * scored without a transcript (provisional until a revision brings text) is a hollow marker with
 * a dotted outline.
 *
 * Screen readers: the chart is a labelled group; every point and alert marker is an image named
 * by its <title> (channel, segment, time, valence, label, where its text came from), so a
 * reader's virtual cursor reaches each one. With `focusable` (the call page) the points are
 * also one Tab stop: the arrow keys, Home and End move between them in time order.
 * Each marker carries data-* attributes for tests.
 */
import { Fragment } from 'preact';
import { fmt, RULE_WORD, textSourceText } from './format.js';
import { clockOffset, NEUTRAL_BAND, timeTicks, valenceDomain, valenceTicks } from './scale.js';
import type { Alert, Score } from './types.js';

export interface TimelineProps {
  channels: { name: string; scores: Score[] }[];
  width: number;
  height: number;
  /** Show only the last N segments per channel (live cards); default all. */
  lastN?: number;
  label: string;
  /** Alerts of this call: drawn at their segment when it is shown. */
  alerts?: Alert[];
  /** Points take keyboard focus (one Tab stop, arrow keys move). */
  focusable?: boolean;
  /** The call's start (Call.startedAt, event time, ISO 8601): 0:00 on the time axis. Default: the first segment's start. */
  startedAt?: string | null;
}

const CHANNEL_STYLE: Record<string, { cls: string; dash?: string; shape: 'circle' | 'square' }> = {
  customer: { cls: 'ch-customer', shape: 'circle' },
  agent: { cls: 'ch-agent', dash: '5 3', shape: 'square' },
};
const styleOf = (name: string) => CHANNEL_STYLE[name] ?? { cls: 'ch-other', dash: '2 2', shape: 'circle' as const };
const mid = (s: Score) => (s.startMs + s.endMs) / 2;
const PAD = { l: 30, r: 8, t: 12, b: 16 };

/** What a point says to a reader (and on hover). */
export function pointTitle(channel: string, s: Score, originMs: number, alert?: Alert): string {
  const rev = s.revision ? `, revision ${s.revision}` : '';
  const provisional = s.textMissing ? ' (provisional)' : '';
  const warn = alert ? `; alert: ${RULE_WORD[alert.rule] ?? alert.rule}` : '';
  return `${channel} segment ${s.segmentIndex} at ${clockOffset(s.startMs - originMs)}: ${fmt(s.valence)} ${s.label.toLowerCase()}; ${textSourceText(s)}${provisional}${rev}${warn}`;
}

/** Roving focus between the chart's points: arrow keys, Home, End, in time order. */
function movePointFocus(e: KeyboardEvent): void {
  const moves: Record<string, number> = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1, Home: -Infinity, End: Infinity };
  const step = moves[e.key];
  if (step === undefined) return;
  const svg = e.currentTarget as SVGSVGElement;
  const pts = [...svg.querySelectorAll<SVGElement>('.pt')].sort((a, b) => Number(a.dataset.t) - Number(b.dataset.t));
  const at = pts.indexOf(document.activeElement as SVGElement);
  if (at < 0 || pts.length === 0) return;
  e.preventDefault();
  const next = pts[Math.max(0, Math.min(pts.length - 1, step === Infinity ? pts.length - 1 : step === -Infinity ? 0 : at + step))];
  pts[at].setAttribute('tabindex', '-1');
  next.setAttribute('tabindex', '0');
  next.focus();
}

export function Timeline(p: TimelineProps) {
  // The time axis counts from the call's start, also when a card shows only the last N; without
  // a start time (a call first seen through its scores), from its first segment.
  let origin = Infinity;
  for (const c of p.channels) if (c.scores.length) origin = Math.min(origin, c.scores[0].startMs);
  const started = p.startedAt ? Date.parse(p.startedAt) : Number.NaN;
  if (started <= origin) origin = started;
  const series = p.channels.map((c) => ({ ...c, scores: p.lastN ? c.scores.slice(-p.lastN) : c.scores }));
  let t0 = Infinity;
  let t1 = -Infinity;
  const values: number[] = [];
  for (const c of series) for (const s of c.scores) (t0 = Math.min(t0, s.startMs)), (t1 = Math.max(t1, s.endMs)), values.push(s.valence);
  if (!Number.isFinite(t0)) (t0 = 0), (t1 = 1), (origin = 0);
  if (t1 <= t0) t1 = t0 + 1;
  const w = p.width - PAD.l - PAD.r;
  const h = p.height - PAD.t - PAD.b;
  const d = valenceDomain(values);
  const xt = (t: number) => PAD.l + ((t - t0) / (t1 - t0)) * w;
  const y = (v: number) => PAD.t + ((d.hi - Math.max(d.lo, Math.min(d.hi, v))) / (d.hi - d.lo)) * h;
  const vTicks = valenceTicks(d, Math.floor(h / 22));
  const tTicks = timeTicks(t0, t1, origin, Math.max(2, Math.floor(w / 55)));

  // Alerts drawn at the point of their segment (one marker per alert).
  const byKey = new Map<string, Score>();
  for (const c of series) for (const s of c.scores) byKey.set(`${c.name}/${s.segmentIndex}`, s);
  const alertAt = new Map<string, Alert>();
  for (const a of p.alerts ?? []) if (!alertAt.has(`${a.channel}/${a.segmentIndex}`)) alertAt.set(`${a.channel}/${a.segmentIndex}`, a);
  const marks = (p.alerts ?? []).flatMap((a) => {
    const s = byKey.get(`${a.channel}/${a.segmentIndex}`);
    return s ? [{ a, x: xt(mid(s)), s }] : [];
  });
  let firstPoint = true;

  return (
    <svg class="timeline" width={p.width} height={p.height} viewBox={`0 0 ${p.width} ${p.height}`} role="group" aria-label={p.label} onKeyDown={p.focusable ? movePointFocus : undefined}>
      <rect class="band" x={PAD.l} y={y(NEUTRAL_BAND)} width={w} height={y(-NEUTRAL_BAND) - y(NEUTRAL_BAND)} aria-hidden="true" />
      <g class="y-axis" aria-hidden="true">
        {vTicks.map((v) => (
          <Fragment key={v}>
            <line class={v === 0 ? 'grid zero' : 'grid'} x1={PAD.l} x2={PAD.l + w} y1={y(v)} y2={y(v)} />
            <text class="axis" x={PAD.l - 3} y={y(v) + 3} text-anchor="end">
              {v > 0 ? `+${v}` : v}
            </text>
          </Fragment>
        ))}
      </g>
      <g class="x-axis" aria-hidden="true">
        <line class="grid" x1={PAD.l} x2={PAD.l + w} y1={PAD.t + h} y2={PAD.t + h} />
        {/* Tick marks as one path; labels one <text> each (200 live cards: few nodes per chart). */}
        <path class="tick" d={tTicks.map((t) => `M${xt(t).toFixed(1)},${PAD.t + h}v3`).join('')} />
        {tTicks.map((t) => (
          <text key={t} class="axis x-tick" data-offset-ms={t - origin} x={xt(t)} y={p.height - 3} text-anchor="middle">
            {clockOffset(t - origin)}
          </text>
        ))}
      </g>
      {marks.map(({ a, x, s }) => (
        <g key={a.id} class="alert-mark" data-alert={a.id} data-seg={a.segmentIndex} data-channel={a.channel} role="img">
          <title>{`Alert: ${RULE_WORD[a.rule] ?? a.rule} on ${a.channel} segment ${a.segmentIndex} at ${clockOffset(s.startMs - origin)}: ${a.message}`}</title>
          <line class="alert-rule" x1={x} x2={x} y1={PAD.t} y2={PAD.t + h} />
          <path class="alert-glyph" d={`M${x - 5},${PAD.t - 1} L${x + 5},${PAD.t - 1} L${x},${PAD.t - 10} Z`} />
        </g>
      ))}
      {series.map((c) => {
        const st = styleOf(c.name);
        return (
          <g key={c.name} class={`series ${st.cls}`} data-channel={c.name}>
            <polyline fill="none" class="line" aria-hidden="true" stroke-dasharray={st.dash} points={c.scores.map((s) => `${xt(mid(s)).toFixed(1)},${y(s.valence).toFixed(1)}`).join(' ')} />
            {c.scores.map((s) => {
              const cx = xt(mid(s));
              const cy = y(s.valence);
              const alert = alertAt.get(`${c.name}/${s.segmentIndex}`);
              const a11y = {
                role: 'img' as const,
                // Lower case: on SVG elements Preact sets attributes as written, and only `tabindex` counts.
                tabindex: p.focusable ? (firstPoint ? 0 : -1) : undefined,
                'data-t': mid(s),
                'data-seg': s.segmentIndex,
                'data-rev': s.revision,
                'data-provisional': s.textMissing ? 'true' : 'false',
                'data-source': s.textSource,
                'data-valence': s.valence.toFixed(3),
              };
              firstPoint = false;
              const cls = `pt${s.textMissing ? ' provisional' : ''}${alert ? ' alerted' : ''}`;
              const title = <title>{pointTitle(c.name, s, origin, alert)}</title>;
              return st.shape === 'square' ? (
                <rect key={s.segmentIndex} class={cls} x={cx - 3} y={cy - 3} width={6} height={6} {...a11y}>
                  {title}
                </rect>
              ) : (
                <circle key={s.segmentIndex} class={cls} cx={cx} cy={cy} r={3.2} {...a11y}>
                  {title}
                </circle>
              );
            })}
          </g>
        );
      })}
    </svg>
  );
}

/** The legend that says what lines and markers mean (shown once per view). */
export function Legend() {
  return (
    <p class="legend">
      <svg width="150" height="12" aria-hidden="true">
        <line class="ch-customer line" x1="2" x2="22" y1="6" y2="6" />
        <circle class="ch-customer pt" cx="12" cy="6" r="3" />
        <line class="ch-agent line" x1="72" x2="92" y1="6" y2="6" stroke-dasharray="5 3" />
        <rect class="ch-agent pt" x="79" y="3" width="6" height="6" />
      </svg>
      <span>customer: solid line, circles · agent: dashed line, squares · </span>
      <svg width="12" height="12" aria-hidden="true">
        <circle class="ch-customer pt provisional" cx="6" cy="6" r="3.5" />
      </svg>
      <span> hollow marker: scored without a transcript (provisional, replaced when a late transcript arrives) · </span>
      <svg width="12" height="12" aria-hidden="true">
        <path class="alert-glyph" d="M1,11 L11,11 L6,2 Z" />
      </svg>
      <span> alert · shaded band: neutral · time since the call started (m:ss); the valence scale follows the call</span>
    </p>
  );
}
