/**
 * Query limits, the same over HTTP and graphql-ws:
 * - depth: the longest chain of nested fields (a root field is depth 1; `__typename` is free),
 *   as a graphql validation rule;
 * - cost: an upper bound of the objects a query can return. A field that returns an object
 *   costs 1, a leaf costs 0; a field with a `first` argument multiplies what is under it by
 *   `first` (its literal, or its variable's value, or the variable's default; an omitted
 *   argument or variable takes the argument's default, as execution does; anything that is
 *   not a number counts as MAX_PAGE_SIZE). Lists without `first` count once (they are small: channels, provider
 *   attempts, one call's alerts). Introspection (`__schema`, `__type`) costs 0; depth bounds it.
 *   E.g. `segments(first: 100) { edges { node { valence modalities { text } } } }` costs
 *   1 + 100 x (1 + 1 + 1) = 301.
 * - operations per WebSocket (ws.ts): TOO_MANY_SUBSCRIPTIONS.
 * Refusals are QUERY_TOO_COMPLEX (HTTP 400; over graphql-ws an `error` for that operation).
 */
import {
  type DocumentNode, type FieldNode, type FragmentDefinitionNode, GraphQLError, type GraphQLNamedType, type GraphQLSchema,
  type OperationDefinitionNode, type SelectionSetNode, type ValidationContext, type ValidationRule, type ValueNode,
  getNamedType, isCompositeType, isInterfaceType, isObjectType, Kind, valueFromASTUntyped,
} from 'graphql';
import { AppError } from '../core/errors.js';
import { MAX_PAGE_SIZE } from '../store/validate.js';

export interface QueryLimits {
  /** Deepest field nesting a query may have. Default 15: graphql-js's standard introspection
   *  query is 15 deep (the product's own data queries reach 9; its schema has no cycles, so only
   *  introspection, __Type.fields.type.fields..., can nest without end). */
  maxDepth: number;
  /** Largest cost (see above). Default 1_000_000: the dashboard's live snapshot, 200 calls x
   *  1000 segments, costs about 800_000. */
  maxCost: number;
  /** Operations one WebSocket may run at once. Default 100. */
  maxOperationsPerConnection: number;
}

export const DEFAULT_QUERY_LIMITS: Readonly<QueryLimits> = Object.freeze({ maxDepth: 15, maxCost: 1_000_000, maxOperationsPerConnection: 100 });

/**
 * Limits from API_MAX_DEPTH, API_MAX_COST, API_MAX_SUBSCRIPTIONS_PER_CONNECTION (defaults
 * above); a bad value is CONFIG_INVALID.
 */
export function loadQueryLimits(env: NodeJS.ProcessEnv = process.env): QueryLimits {
  const int = (name: string, dflt: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return dflt;
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < 1 || n > max) throw new AppError('CONFIG_INVALID', { variable: name, reason: `${JSON.stringify(raw)} is not an integer in 1..${max}` });
    return n;
  };
  return {
    maxDepth: int('API_MAX_DEPTH', DEFAULT_QUERY_LIMITS.maxDepth, 100),
    maxCost: int('API_MAX_COST', DEFAULT_QUERY_LIMITS.maxCost, 1e12),
    maxOperationsPerConnection: int('API_MAX_SUBSCRIPTIONS_PER_CONNECTION', DEFAULT_QUERY_LIMITS.maxOperationsPerConnection, 100_000),
  };
}

/** The error both rules raise: a GraphQLError carrying the AppError, so formatApiError keeps the code. */
export function tooComplex(limit: 'depth' | 'cost', value: number, max: number, nodes?: readonly FieldNode[] | OperationDefinitionNode): GraphQLError {
  const app = new AppError('QUERY_TOO_COMPLEX', { limit, value, max });
  return new GraphQLError(app.message, { nodes, originalError: app, extensions: { code: app.code, http: { status: app.status } } });
}

type Fragments = Record<string, FragmentDefinitionNode>;

function fragmentsOf(doc: DocumentNode): Fragments {
  const out: Fragments = {};
  for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) out[d.name.value] = d;
  return out;
}

/** Depth of a selection set; fragments are followed (a cycle, which validation refuses anyway, stops). */
function depthOf(set: SelectionSetNode | undefined, fragments: Fragments, seen: Set<string>): number {
  if (!set) return 0;
  let max = 0;
  for (const s of set.selections) {
    if (s.kind === Kind.FIELD) {
      if (s.name.value === '__typename') continue;
      max = Math.max(max, 1 + depthOf(s.selectionSet, fragments, seen));
    } else if (s.kind === Kind.INLINE_FRAGMENT) {
      max = Math.max(max, depthOf(s.selectionSet, fragments, seen));
    } else {
      const f = fragments[s.name.value];
      if (!f || seen.has(f.name.value)) continue;
      seen.add(f.name.value);
      max = Math.max(max, depthOf(f.selectionSet, fragments, seen));
      seen.delete(f.name.value);
    }
  }
  return max;
}

/** Validation rule: every operation's depth is at most `maxDepth`. */
export function depthLimitRule(maxDepth: number): ValidationRule {
  return (ctx: ValidationContext) => {
    const fragments = fragmentsOf(ctx.getDocument());
    return {
      OperationDefinition(op) {
        const depth = depthOf(op.selectionSet, fragments, new Set());
        if (depth > maxDepth) ctx.reportError(tooComplex('depth', depth, maxDepth, op));
      },
    };
  };
}

interface CostEnv {
  schema: GraphQLSchema;
  fragments: Fragments;
  variables: Record<string, unknown>;
  defaults: Record<string, unknown>;
}

/** The `first` a field will run with, or null when the field takes no `first`. */
function firstOf(field: FieldNode, def: { args: readonly { name: string; defaultValue: unknown }[] }, env: CostEnv): number | null {
  const argDef = def.args.find((a) => a.name === 'first');
  if (!argDef) return null;
  const node = field.arguments?.find((a) => a.name.value === 'first')?.value;
  let v: unknown = argDef.defaultValue;
  if (node?.kind === Kind.VARIABLE) {
    const name = node.name.value;
    v = name in env.variables ? env.variables[name] : name in env.defaults ? env.defaults[name] : argDef.defaultValue;
  } else if (node) {
    v = valueFromASTUntyped(node as ValueNode);
  }
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : MAX_PAGE_SIZE;
}

function costOf(set: SelectionSetNode | undefined, parent: GraphQLNamedType, env: CostEnv, seen: Set<string>): number {
  if (!set || !(isObjectType(parent) || isInterfaceType(parent))) return 0;
  let total = 0;
  for (const s of set.selections) {
    if (s.kind === Kind.FIELD) {
      if (s.name.value.startsWith('__')) continue; // __typename, introspection
      const def = parent.getFields()[s.name.value];
      if (!def) continue; // unknown field: FieldsOnCorrectType reports it
      const type = getNamedType(def.type);
      if (!isCompositeType(type)) continue;
      const mult = firstOf(s, def, env) ?? 1;
      total += 1 + mult * costOf(s.selectionSet, type, env, seen);
    } else if (s.kind === Kind.INLINE_FRAGMENT) {
      const t = s.typeCondition ? env.schema.getType(s.typeCondition.name.value) ?? parent : parent;
      total += costOf(s.selectionSet, t, env, seen);
    } else {
      const f = env.fragments[s.name.value];
      if (!f || seen.has(f.name.value)) continue;
      seen.add(f.name.value);
      total += costOf(f.selectionSet, env.schema.getType(f.typeCondition.name.value) ?? parent, env, seen);
      seen.delete(f.name.value);
    }
  }
  return total;
}

/** Cost of one operation of `doc` (see the header) with the request's variables. */
export function operationCost(schema: GraphQLSchema, doc: DocumentNode, op: OperationDefinitionNode, variables: Record<string, unknown> = {}): number {
  const root = op.operation === 'query' ? schema.getQueryType() : op.operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
  if (!root) return 0;
  const defaults: Record<string, unknown> = {};
  for (const v of op.variableDefinitions ?? []) if (v.defaultValue) defaults[v.variable.name.value] = valueFromASTUntyped(v.defaultValue);
  return costOf(op.selectionSet, root, { schema, fragments: fragmentsOf(doc), variables, defaults }, new Set());
}

/**
 * Validation rule: every operation costs at most `maxCost`. Pass the request's variables when
 * they are known (graphql-ws); without them a `first` given by a variable without a default
 * counts as MAX_PAGE_SIZE.
 */
export function costLimitRule(maxCost: number, variables?: Record<string, unknown> | null): ValidationRule {
  return (ctx: ValidationContext) => ({
    OperationDefinition(op) {
      const cost = operationCost(ctx.getSchema(), ctx.getDocument(), op, variables ?? {});
      if (cost > maxCost) ctx.reportError(tooComplex('cost', cost, maxCost, op));
    },
  });
}
