/**
 * Which graphql-ws operations may share one execution (multiplex.ts), and by what key.
 *
 * The context's part of the key: every ApiContext field is classified below, and only those a
 * resolver reads enter the key. Today that is the tenant alone: every resolver and subscription
 * filters on `ctx.tenant` and reads nothing else (auth/api-context.ts); the principal is for logs
 * and the credential's expiry closes the socket, neither changes a result. The mapped type makes
 * a field added to ApiContext fail the type check here until someone says whether results
 * depend on it, so a new field (a role, a scope) cannot silently let two callers who may see
 * different data share a group.
 */
import { Kind, type OperationDefinitionNode, valueFromASTUntyped } from 'graphql';
import type { ApiContext } from '../auth/api-context.js';
import { canonicalJson } from './multiplex.js';

/** Does a result depend on this field of the caller's context? */
type Role = 'read by resolvers' | 'not read by resolvers';

const API_CONTEXT_FIELDS: { readonly [K in keyof Required<ApiContext>]: Role } = {
  tenant: 'read by resolvers',
  principal: 'not read by resolvers',
  expiresAtMs: 'not read by resolvers',
};

const KEYED = (Object.keys(API_CONTEXT_FIELDS) as (keyof ApiContext)[]).filter((k) => API_CONTEXT_FIELDS[k] === 'read by resolvers').sort();

/** The part of a group key that comes from the caller: the context fields resolvers read. */
export function contextKey(ctx: ApiContext): string {
  return canonicalJson(Object.fromEntries(KEYED.map((k) => [k, ctx[k]])));
}

/**
 * Arguments that make a subscription's stream depend on the subscriber's own position: with one
 * set (not null), the operation replays that subscriber's history before going live, so it runs
 * alone (`segmentScored(since:)`, publish/resume.ts).
 */
export const PER_SUBSCRIBER_ARGUMENTS: readonly string[] = ['since'];

/**
 * True when the operation must run alone: a root field sets a per-subscriber argument (through a
 * literal, a variable or a variable's default), or a root selection is a fragment (not inspected;
 * no client of ours sends one, and running alone is always correct).
 */
export function readsOwnPosition(op: OperationDefinitionNode, variables: Readonly<Record<string, unknown>> | null | undefined): boolean {
  const defaults = new Map((op.variableDefinitions ?? []).map((d) => [d.variable.name.value, d.defaultValue ? valueFromASTUntyped(d.defaultValue) : undefined]));
  for (const sel of op.selectionSet.selections) {
    if (sel.kind !== Kind.FIELD) return true;
    for (const arg of sel.arguments ?? []) {
      if (!PER_SUBSCRIBER_ARGUMENTS.includes(arg.name.value)) continue;
      const v = arg.value.kind === Kind.VARIABLE ? (variables?.[arg.value.name.value] ?? defaults.get(arg.value.name.value)) : valueFromASTUntyped(arg.value);
      if (v !== null && v !== undefined) return true;
    }
  }
  return false;
}
