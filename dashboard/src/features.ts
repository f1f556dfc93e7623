/**
 * Optional API fields, found out once at start-up by asking for them: a server whose schema
 * lacks a field answers with a validation error, and the dashboard then leaves it out of every
 * query. This works with introspection turned off (API_INTROSPECTION=off in production), and
 * lets the dashboard run against servers from before and after a field was added.
 */
import type { Api } from './api.js';

export interface ApiFeatures {
  /** Call.displayName: the producer's name for a call, shown instead of the id. */
  displayName: boolean;
}

export const NO_FEATURES: ApiFeatures = Object.freeze({ displayName: false });

const DISPLAY_NAME_PROBE = 'query ProbeDisplayName { calls(first: 1) { edges { node { id displayName } } } }';

/** Asks the server which optional fields it has; any failure counts as "not there". */
export async function probeFeatures(api: Api): Promise<ApiFeatures> {
  const displayName = await api.query(DISPLAY_NAME_PROBE).then(
    () => true,
    () => false,
  );
  return { displayName };
}

export const sameFeatures = (a: ApiFeatures, b: ApiFeatures): boolean => a.displayName === b.displayName;
