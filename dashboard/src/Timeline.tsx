/**
 * A call's timeline as SVG: valence (-3..+3, y) over event time (x), one line per channel.
 * Not colour alone: customer = solid line + circles, agent = dashed line + squares; a segment
 * scored without a transcript (provisional until a revision brings text) is a hollow marker with
 * a dotted outline. Each marker carries data-* attributes and a <title> for tests and readers.
 */
import type { Score } from './types.js';

export interface TimelineProps {
  channels: { name: string; scores: Score[] }[];
  width: number;
  height: number;
  /** Show only the last N segments per channel (live cards); default all. */
  lastN?: number;
  label: string;
}

const CHANNEL_STYLE: Record<string, { cls: string; dash?: string; shape: 'circle' | 'square' }> = {
  customer: { cls: 'ch-customer', shape: 'circle' },
  agent: { cls: 'ch-agent', dash: '5 3', shape: 'square' },
};
const styleOf = (name: string) => CHANNEL_STYLE[name] ?? { cls: 'ch-other', dash: '2 2', shape: 'circle' as const };

export function Timeline(p: TimelineProps) {
  const pad = { l: 26, r: 6, t: 6, b: 14 };
  const series = p.channels.map((c) => ({ ...c, scores: p.lastN ? c.scores.slice(-p.lastN) : c.scores }));
  let t0 = Infinity;
  let t1 = -Infinity;
  for (const c of series) for (const s of c.scores) (t0 = Math.min(t0, s.startMs)), (t1 = Math.max(t1, s.endMs));
  if (!Number.isFinite(t0)) (t0 = 0), (t1 = 1);
  if (t1 <= t0) t1 = t0 + 1;
  const w = p.width - pad.l - pad.r;
  const h = p.height - pad.t - pad.b;
  const x = (s: Score) => pad.l + (((s.startMs + s.endMs) / 2 - t0) / (t1 - t0)) * w;
  const y = (v: number) => pad.t + ((3 - Math.max(-3, Math.min(3, v))) / 6) * h;
  return (
    <svg class="timeline" width={p.width} height={p.height} viewBox={`0 0 ${p.width} ${p.height}`} role="img" aria-label={p.label}>
      <rect class="band" x={pad.l} y={y(0.5)} width={w} height={y(-0.5) - y(0.5)} />
      {[3, 0, -3].map((v) => (
        <g key={v}>
          <line class="grid" x1={pad.l} x2={pad.l + w} y1={y(v)} y2={y(v)} />
          <text class="axis" x={pad.l - 3} y={y(v) + 3} text-anchor="end">
            {v > 0 ? `+${v}` : v}
          </text>
        </g>
      ))}
      {series.map((c) => {
        const st = styleOf(c.name);
        return (
          <g key={c.name} class={`series ${st.cls}`} data-channel={c.name}>
            <polyline fill="none" class="line" stroke-dasharray={st.dash} points={c.scores.map((s) => `${x(s).toFixed(1)},${y(s.valence).toFixed(1)}`).join(' ')} />
            {c.scores.map((s) => {
              const cx = x(s);
              const cy = y(s.valence);
              const cls = `pt${s.textMissing ? ' provisional' : ''}`;
              const data = { 'data-seg': s.segmentIndex, 'data-rev': s.revision, 'data-provisional': s.textMissing ? 'true' : 'false', 'data-valence': s.valence.toFixed(3) };
              const title = `${c.name} segment ${s.segmentIndex}: ${s.valence.toFixed(2)} (${s.label.toLowerCase()})${s.textMissing ? ', no transcript (provisional)' : ''}${s.revision ? `, revision ${s.revision}` : ''}`;
              return st.shape === 'square' ? (
                <rect key={s.segmentIndex} class={cls} x={cx - 3} y={cy - 3} width={6} height={6} {...data}>
                  <title>{title}</title>
                </rect>
              ) : (
                <circle key={s.segmentIndex} class={cls} cx={cx} cy={cy} r={3.2} {...data}>
                  <title>{title}</title>
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
      <span> hollow marker: scored without a transcript (provisional, replaced when a late transcript arrives) · shaded band: neutral</span>
    </p>
  );
}
