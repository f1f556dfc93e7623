/**
 * Optional API fields, found out at start-up (and after each reconnect) by asking for them: a
 * server whose schema lacks a field answers with a validation error, and the dashboard then
 * leaves it out of every query. Each probe asks for a call that does not exist, so the server
 * validates it and does one key lookup (no scan). This works with introspection turned off
 * (API_INTROSPECTION=off in production).
 *
 * Why keep this now that the server serving the dashboard has both fields: a tab stays open
 * across deploys. When the API is rolled back to a version without them, an open tab would
 * otherwise send queries and re-send subscriptions the server rejects, and show nothing until
 * someone reloads; with the probe it notices the change on reconnect and reloads (main.tsx).
 */
import type { Api } from './api.js';

export interface ApiFeatures {
  /** Call.displayName: the producer's name for a call, shown instead of the id. */
  displayName: boolean;
  /** Call.analytics.talk: talk time, silence, overlaps, speaking rate and loudness per channel. */
  talk: boolean;
}

export const NO_FEATURES: ApiFeatures = Object.freeze({ displayName: false, talk: false });

/** A call id no producer is expected to send: validation is what the probe is after, and the
 *  answer is null after one key lookup. */
const PROBE_ID = '__dashboard_feature_probe__';
const PROBES: Record<keyof ApiFeatures, string> = {
  displayName: 'query ProbeDisplayName($id: ID!) { call(id: $id) { displayName } }',
  talk: 'query ProbeTalk($id: ID!) { call(id: $id) { analytics { talk { spanMs } } } }',
};

/** Asks the server which optional fields it has; any failure counts as "not there". */
export async function probeFeatures(api: Api): Promise<ApiFeatures> {
  const has = (q: string) => api.query(q, { id: PROBE_ID }).then(() => true, () => false);
  const [displayName, talk] = await Promise.all([has(PROBES.displayName), has(PROBES.talk)]);
  return { displayName, talk };
}

export const sameFeatures = (a: ApiFeatures, b: ApiFeatures): boolean => a.displayName === b.displayName && a.talk === b.talk;
