/**
 * The GraphQL documents the dashboard sends. Call fields depend on what the server has
 * (features.ts): `configureQueries` is called once, after the probe and before any other query.
 */
import { type ApiFeatures, NO_FEATURES } from './features.js';

export const SCORE_FIELDS = `callId channel segmentIndex revision startMs endMs valence label textMissing
  modalities { text audio video } modalityWeights { text audio video } text textSource recognisedText`;

const ALERT_FIELDS = 'id callId channel rule segmentIndex valence message eventTimeMs raisedAt';
const ANALYTICS_FIELDS = 'channel segments meanValence minValence maxValence rollingValence rollingWindow trend textMissingShare';
/** How an ended call ended, per channel: the mean of its last segments (CallAnalytics). */
const ENDING = 'analytics { channels { channel segments rollingValence rollingWindow } }';
export const TALK_FIELDS = `spanMs nonTalkShare overlapMs
  channels { channel talkTimeMs talkShare silenceShare overlapMs interruptions words wordsPerMinute meanDbfs peakDbfs }`;

export interface Queries {
  /** Live view snapshot: the calls in progress with their scores, and recent alerts. */
  liveSnapshot: string;
  /** The same without the scores, after a reconnect: the scores come back through the resumed
   *  `segmentScored(since:)` (score-stream.ts), calls and alerts are re-read here. */
  liveStatus: string;
  /** Status of calls the view shows but the snapshot no longer lists (they ended meanwhile). */
  callStatuses: (ids: string[]) => string;
  /** The latest started calls that have ended or timed out, for the "Recently ended" strip,
   *  with each channel's rolling valence (the API has no cheap "last segment": see docs). */
  recentEnded: string;
  /** Every score from `$since` (stored at or after it, replayed) on: always a resume operation. */
  scoresSub: string;
  callsSub: string;
  alertsSub: string;
  /** History search; with an empty filter, the most recent calls. */
  search: string;
  callPage: string;
}

const live = (name: string, callFields: string) => `query ${name}($first: Int!) {
  calls(filter: { status: ACTIVE }, first: $first) { edges { node { ${callFields} } } }
  alerts(first: 50) { edges { node { ${ALERT_FIELDS} } } }
}`;

export function makeQueries(f: ApiFeatures): Queries {
  const call = `id tenant status startedAt endedAt channels segmentCount${f.displayName ? ' displayName' : ''}`;
  return {
    liveSnapshot: live('Live', `${call} segments(first: 1000) { edges { node { ${SCORE_FIELDS} } } }`),
    liveStatus: live('LiveStatus', call),
    recentEnded: `query RecentEnded($first: Int!) {
  ended: calls(filter: { status: ENDED }, first: $first) { edges { node { ${call} ${ENDING} } } }
  timedOut: calls(filter: { status: TIMED_OUT }, first: $first) { edges { node { ${call} ${ENDING} } } }
}`,
    callStatuses: (ids) => `query Statuses { ${ids.map((id, i) => `c${i}: call(id: ${JSON.stringify(id)}) { ${call} }`).join(' ')} }`,
    scoresSub: `subscription Scores($since: DateTime) { segmentScored(since: $since) { ${SCORE_FIELDS} scoredAt } }`,
    callsSub: `subscription { callUpdated { ${call} } }`,
    alertsSub: `subscription { alerts { ${ALERT_FIELDS} } }`,
    search: `query Search($filter: CallSearchInput, $first: Int!, $after: String) {
  searchCalls(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { callId firstMs lastMs alertCount channels { ${ANALYTICS_FIELDS} } call { status${f.displayName ? ' displayName' : ''} } } }
  }
}`,
    callPage: `query CallPage($id: ID!) {
  call(id: $id) {
    ${call}
    analytics { channels { ${ANALYTICS_FIELDS} } alerts { ${ALERT_FIELDS} }${f.talk ? ` talk { ${TALK_FIELDS} }` : ''} }
    segments(first: 1000) { edges { node { ${SCORE_FIELDS} dominantModality textSimulated } } }
  }
}`,
  };
}

let current = makeQueries(NO_FEATURES);

/** Sets the documents for what the server has; call once at start-up. */
export function configureQueries(f: ApiFeatures): void {
  current = makeQueries(f);
}

/** The documents in force. */
export const queries = (): Queries => current;

/** The documents as sent to a server with every optional field, as the one serving the
 *  dashboard has (the limits tests measure these). */
const base = makeQueries({ displayName: true, talk: true });
export const LIVE_SNAPSHOT = base.liveSnapshot;
export const CALL_PAGE = base.callPage;
export const SEARCH = base.search;
export const SCORES_SUB = base.scoresSub;
