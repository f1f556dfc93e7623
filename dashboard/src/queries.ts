/** The GraphQL documents the dashboard sends. */

export const SCORE_FIELDS = `callId channel segmentIndex revision startMs endMs valence label textMissing
  modalities { text audio video } modalityWeights { text audio video } text`;

const CALL_FIELDS = 'id tenant status startedAt endedAt channels segmentCount';

/** Live view snapshot: the calls in progress with their scores, and recent alerts. */
export const LIVE_SNAPSHOT = `query Live($first: Int!) {
  calls(filter: { status: ACTIVE }, first: $first) {
    edges { node { ${CALL_FIELDS} segments(first: 1000) { edges { node { ${SCORE_FIELDS} } } } } }
  }
  alerts(first: 50) { edges { node { id callId channel rule segmentIndex valence message eventTimeMs raisedAt } } }
}`;

/** Status of calls the view shows but the snapshot no longer lists (they ended meanwhile). */
export const callStatuses = (ids: string[]) =>
  `query Statuses { ${ids.map((id, i) => `c${i}: call(id: ${JSON.stringify(id)}) { ${CALL_FIELDS} }`).join(' ')} }`;

export const SCORES_SUB = `subscription { segmentScored { ${SCORE_FIELDS} } }`;
export const CALLS_SUB = `subscription { callUpdated { ${CALL_FIELDS} } }`;
export const ALERTS_SUB = 'subscription { alerts { id callId channel rule segmentIndex valence message eventTimeMs raisedAt } }';

const ANALYTICS_FIELDS = 'channel segments meanValence minValence maxValence rollingValence rollingWindow trend textMissingShare';

export const SEARCH = `query Search($filter: CallSearchInput, $first: Int!, $after: String) {
  searchCalls(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { callId firstMs lastMs alertCount channels { ${ANALYTICS_FIELDS} } call { status } } }
  }
}`;

export const CALL_PAGE = `query CallPage($id: ID!) {
  call(id: $id) {
    ${CALL_FIELDS}
    analytics { channels { ${ANALYTICS_FIELDS} } alerts { id callId channel rule segmentIndex valence message eventTimeMs raisedAt } }
    segments(first: 1000) { edges { node { ${SCORE_FIELDS} dominantModality textSimulated } } }
  }
}`;
