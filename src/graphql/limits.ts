/**
 * Query limits, the same over HTTP and graphql-ws:
 * - depth: the longest chain of nested fields (a root field is depth 1; `__typename` is free),
 *   as a graphql validation rule;
 * - cost: an upper bound of the objects a query can return. A field that returns an object
 *   costs 1, a leaf costs 0; a field with a `first` argument multiplies what is under it by
 *   `first` (its literal, or its variable's value, or the variable's default; an omitted
 *   argument or variable takes the argument's default, as execution does; anything that is
 *   not a number counts as MAX_PAGE_SIZE). Lists without `first` count once (they are small: channels, provider
 *   attempts, one call's alerts). Introspection is priced the same way, with each of its lists
 *   (`types`, `fields`, `args`, ...) multiplied by its longest length in this schema: a query of
 *   aliased `__schema` trees costs what it would build (issue 13: one 400 KB query of them ran
 *   78 s, took 3.7 GB and blocked /healthz, priced at 0). `__typename` is free.
 *   E.g. `segments(first: 100) { edges { node { valence modalities { text } } } }` costs
 *   1 + 100 x (1 + 1 + 1) = 301.
 * - tokens: a document longer than `maxTokens` lexical tokens is refused while it is parsed
 *   (graphql-js stops lexing there), so no document costs more than that to parse or validate.
 * - introspection on or off (`introspection`): off refuses `__schema` / `__type`.
 * - operations per WebSocket (ws.ts): TOO_MANY_SUBSCRIPTIONS; sockets and subscriptions per
 *   source and per tenant: connection-limits.ts.
 * Refusals are QUERY_TOO_COMPLEX (HTTP 400; over graphql-ws an `error` for that operation).
 */
import {
  type DocumentNode, type FieldNode, type FragmentDefinitionNode, GraphQLError, type GraphQLNamedType, type GraphQLSchema,
  type OperationDefinitionNode, type SelectionSetNode, type ValidationContext, type ValidationRule, type ValueNode,
  getNamedType, getNullableType, isCompositeType, isInterfaceType, isListType, isObjectType, Kind, valueFromASTUntyped,
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
  /** Lexical tokens a document may have. Default 5_000: the product's largest query (the
   *  dashboard snapshot) has about 150 and graphql-js's standard introspection query about 300. */
  maxTokens: number;
  /** Answer `__schema` / `__type`. Default: on in dev mode, off in the other auth modes (API_INTROSPECTION). */
  introspection: boolean;
}

export const DEFAULT_QUERY_LIMITS: Readonly<QueryLimits> = Object.freeze({ maxDepth: 15, maxCost: 1_000_000, maxOperationsPerConnection: 100, maxTokens: 5_000, introspection: true });

/** The parser's refusal of a document over `maxTokens` (graphql-js words it "more that N tokens"). */
const TOO_MANY_TOKENS = /^Syntax Error: Document contains more (?:that|than) (\d+) tokens/;

/** QUERY_TOO_COMPLEX for a parse error that is the token limit, else null. */
export function tokenLimitError(error: { message: string }): AppError | null {
  const m = TOO_MANY_TOKENS.exec(error.message);
  return m ? new AppError('QUERY_TOO_COMPLEX', { limit: 'tokens', value: `more than ${m[1]}`, max: Number(m[1]) }) : null;
}

/** The error both rules raise: a GraphQLError carrying the AppError, so formatApiError keeps the code. */
export function tooComplex(limit: 'depth' | 'cost' | 'tokens', value: number, max: number, nodes?: readonly FieldNode[] | OperationDefinitionNode): GraphQLError {
  const app = new AppError('QUERY_TOO_COMPLEX', { limit, value, max });
  return new GraphQLError(app.message, { nodes, originalError: app, extensions: { code: app.code, http: { status: app.status } } });
}

type Fragments = Record<string, FragmentDefinitionNode>;

function fragmentsOf(doc: DocumentNode): Fragments {
  const out: Fragments = {};
  for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) out[d.name.value] = d;
  return out;
}

/**
 * Depth of a selection set; fragments are followed (a cycle, which validation refuses anyway,
 * stops). Each fragment's depth is computed once (`memo`): a document of fragments that each
 * spread the previous one twice would otherwise take 2^n steps for n fragments.
 */
function depthOf(set: SelectionSetNode | undefined, fragments: Fragments, seen: Set<string>, memo: Map<string, number>): number {
  if (!set) return 0;
  let max = 0;
  for (const s of set.selections) {
    if (s.kind === Kind.FIELD) {
      if (s.name.value === '__typename') continue;
      max = Math.max(max, 1 + depthOf(s.selectionSet, fragments, seen, memo));
    } else if (s.kind === Kind.INLINE_FRAGMENT) {
      max = Math.max(max, depthOf(s.selectionSet, fragments, seen, memo));
    } else {
      const f = fragments[s.name.value];
      if (!f || seen.has(f.name.value)) continue;
      let d = memo.get(f.name.value);
      if (d === undefined) {
        seen.add(f.name.value);
        d = depthOf(f.selectionSet, fragments, seen, memo);
        seen.delete(f.name.value);
        memo.set(f.name.value, d);
      }
      max = Math.max(max, d);
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
        const depth = depthOf(op.selectionSet, fragments, new Set(), new Map());
        if (depth > maxDepth) ctx.reportError(tooComplex('depth', depth, maxDepth, op));
      },
    };
  };
}

interface CostEnv {
  schema: GraphQLSchema;
  introspectionLists: IntrospectionLists;
  fragments: Fragments;
  variables: Record<string, unknown>;
  defaults: Record<string, unknown>;
  /** Cost of each fragment, computed once (see depthOf: fragment spreads can nest exponentially). */
  fragmentCost: Map<string, number>;
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
      const name = s.name.value;
      if (name === '__typename') continue;
      const def = name === '__schema' || name === '__type' ? INTROSPECTION_ROOT[name](env.schema) : parent.getFields()[name];
      if (!def) continue; // unknown field: FieldsOnCorrectType reports it
      const type = getNamedType(def.type);
      if (!isCompositeType(type)) continue;
      const introspective = parent.name.startsWith('__') && isListType(getNullableType(def.type));
      const mult = introspective ? env.introspectionLists[name] ?? 1 : firstOf(s, def, env) ?? 1;
      total += 1 + mult * costOf(s.selectionSet, type, env, seen);
    } else if (s.kind === Kind.INLINE_FRAGMENT) {
      const t = s.typeCondition ? env.schema.getType(s.typeCondition.name.value) ?? parent : parent;
      total += costOf(s.selectionSet, t, env, seen);
    } else {
      const f = env.fragments[s.name.value];
      if (!f || seen.has(f.name.value)) continue;
      let c = env.fragmentCost.get(f.name.value);
      if (c === undefined) {
        seen.add(f.name.value);
        c = costOf(f.selectionSet, env.schema.getType(f.typeCondition.name.value) ?? parent, env, seen);
        seen.delete(f.name.value);
        env.fragmentCost.set(f.name.value, c);
      }
      total += c;
    }
  }
  return total;
}

/** The root introspection fields, which are not among the query type's fields. */
const INTROSPECTION_ROOT = {
  __schema: (schema: GraphQLSchema) => ({ type: schema.getType('__Schema')!, args: [] }),
  __type: (schema: GraphQLSchema) => ({ type: schema.getType('__Type')!, args: [] }),
} as const;

/** Longest length of each introspection list in a schema, by field name. */
type IntrospectionLists = Record<string, number>;
const listsCache = new WeakMap<GraphQLSchema, IntrospectionLists>();

function introspectionLists(schema: GraphQLSchema): IntrospectionLists {
  let out = listsCache.get(schema);
  if (out) return out;
  const types = Object.values(schema.getTypeMap());
  const max = (xs: number[]) => Math.max(1, ...xs);
  const fieldsOf = types.flatMap((t) => ('getFields' in t ? Object.values(t.getFields()) : []));
  out = {
    types: types.length,
    directives: max([schema.getDirectives().length]),
    fields: max(types.filter((t) => isObjectType(t) || isInterfaceType(t)).map((t) => Object.keys((t as { getFields(): object }).getFields()).length)),
    inputFields: max(types.filter((t) => !isObjectType(t) && !isInterfaceType(t) && 'getFields' in t).map((t) => Object.keys((t as { getFields(): object }).getFields()).length)),
    args: max([...fieldsOf.map((f) => ('args' in f ? f.args.length : 0)), ...schema.getDirectives().map((d) => d.args.length)]),
    enumValues: max(types.map((t) => ('getValues' in t ? t.getValues().length : 0))),
    interfaces: max(types.map((t) => ('getInterfaces' in t ? t.getInterfaces().length : 0))),
    possibleTypes: max(types.filter((t) => isInterfaceType(t) || 'getTypes' in t).map((t) => schema.getPossibleTypes(t as never).length)),
  };
  listsCache.set(schema, out);
  return out;
}

/** Cost of one operation of `doc` (see the header) with the request's variables. */
export function operationCost(schema: GraphQLSchema, doc: DocumentNode, op: OperationDefinitionNode, variables: Record<string, unknown> = {}): number {
  const root = op.operation === 'query' ? schema.getQueryType() : op.operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
  if (!root) return 0;
  const defaults: Record<string, unknown> = {};
  for (const v of op.variableDefinitions ?? []) if (v.defaultValue) defaults[v.variable.name.value] = valueFromASTUntyped(v.defaultValue);
  return costOf(op.selectionSet, root, { schema, introspectionLists: introspectionLists(schema), fragments: fragmentsOf(doc), variables, defaults, fragmentCost: new Map() }, new Set());
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
