/**
 * A call's talk analytics (Call.analytics.talk): per channel talk time and share, silence,
 * overlap, interruptions, speaking rate and loudness, and the share of the call nobody spoke.
 * Every figure is text; the share bar beside the talk share only repeats it (aria-hidden).
 */
import { dbfs, percent, seconds, wpm } from './format.js';
import type { ChannelTalk, TalkAnalytics } from './types.js';

/** customer and agent first, as everywhere on the page, then the others by name. */
const ORDER = ['customer', 'agent'];
const rank = (c: string) => (ORDER.includes(c) ? ORDER.indexOf(c) : ORDER.length);

export function TalkTable({ talk, live }: { talk: TalkAnalytics; live: boolean }) {
  const channels = [...talk.channels].sort((a, b) => rank(a.channel) - rank(b.channel) || (a.channel < b.channel ? -1 : 1));
  return (
    <section class="talk" aria-labelledby="talk-h" data-testid="talk">
      <h3 id="talk-h">Talk</h3>
      <p class="muted" data-field="call-talk">
        Over <span data-field="span">{seconds(talk.spanMs)}</span> (first segment to last): nobody talking{' '}
        <span data-field="non-talk">{percent(talk.nonTalkShare)}</span>, two or more at once{' '}
        <span data-field="overlap">{seconds(talk.overlapMs)}</span>.{live && ' Live: refreshed after new segments, at most every 2 s.'}
      </p>
      {channels.length === 0 ? (
        <p class="muted">No speech measured yet.</p>
      ) : (
        <table class="talk-table">
          <thead>
            <tr>
              <th scope="col">Channel</th>
              <th scope="col">Talk time</th>
              <th scope="col">Talk share</th>
              <th scope="col">Silence</th>
              <th scope="col">Overlap</th>
              <th scope="col">Interruptions</th>
              <th scope="col">Words per minute</th>
              <th scope="col">Loudness mean / peak</th>
            </tr>
          </thead>
          <tbody>
            {channels.map((c) => (
              <TalkRow key={c.channel} c={c} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function TalkRow({ c }: { c: ChannelTalk }) {
  return (
    <tr data-channel={c.channel}>
      <th scope="row">{c.channel}</th>
      <td data-field="talk-time">{seconds(c.talkTimeMs)}</td>
      <td data-field="talk-share">
        <span class={`share-bar ch-${ORDER.includes(c.channel) ? c.channel : 'other'}`} aria-hidden="true">
          <span style={{ width: percent(Math.min(1, Math.max(0, c.talkShare))) }} />
        </span>{' '}
        {percent(c.talkShare)}
      </td>
      <td data-field="silence">{percent(c.silenceShare)}</td>
      <td data-field="overlap">{seconds(c.overlapMs)}</td>
      <td data-field="interruptions">{c.interruptions}</td>
      <td data-field="wpm">
        {wpm(c.wordsPerMinute)}
        {c.wordsPerMinute !== null && <span class="muted small"> ({c.words} words)</span>}
      </td>
      <td data-field="loudness">
        {dbfs(c.meanDbfs)} / {dbfs(c.peakDbfs)}
      </td>
    </tr>
  );
}
