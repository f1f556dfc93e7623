/**
 * Builders of the one config schema's entries (schema.ts). Each entry is a zod schema from the raw
 * environment string (undefined or '' = unset) to a typed value, plus what the README's table
 * shows: group, type (with bounds), default and a one-line description. One parser per kind of
 * value, so PORT and API_MAX_DEPTH read integers the same way.
 */
import { z } from 'zod';
import { ConfigError } from '../../core/errors.js';

/** Where a variable belongs; the README's table is ordered by these. */
export const CONFIG_GROUPS = ['server', 'storage', 'kafka', 'auth', 'api', 'scorer', 'demo'] as const;
export type ConfigGroup = (typeof CONFIG_GROUPS)[number];

export interface ConfigVarDoc {
  group: ConfigGroup;
  /** One line: what it sets (markdown allowed: it lands in README.md). */
  description: string;
  /** The default as the table shows it (a derived default is described, e.g. `<DATA_DIR>/scores.db`). */
  default?: string;
  /** Never echo the value in an error (keys, passwords in URLs). */
  secret?: boolean;
}

/** One variable of the schema: its documentation and its parser. */
export interface ConfigVar<T> extends Required<Pick<ConfigVarDoc, 'group' | 'description' | 'default'>> {
  /** Type and bounds, e.g. `integer 1..64`. */
  type: string;
  secret: boolean;
  schema: z.ZodType<T, string | undefined>;
}

/** Thrown by a parser: why the value is refused (the variable's name and value are added). */
class Refusal extends Error {}

/** A refusal from inside a parser, e.g. `throw refuse('not a URL')`. */
export function refuse(reason: string): Error {
  return new Refusal(reason);
}

/**
 * The one primitive: `parse` turns a set value into T or throws (a Refusal, or a stage parser's
 * ConfigError); unset (undefined or '') gives `unset`.
 */
function entry<T>(doc: ConfigVarDoc, type: string, unset: T, parse: (raw: string) => T, dflt: string): ConfigVar<T> {
  const schema = z.string().optional().transform((raw, ctx): T => {
    if (raw === undefined || raw === '') return unset;
    try {
      return parse(raw);
    } catch (e) {
      const reason = e instanceof ConfigError ? e.problems.map((p) => p.reason).join('; ') : e instanceof Refusal ? e.message : String(e);
      ctx.issues.push({ code: 'custom', message: reason, input: raw });
      return z.NEVER;
    }
  });
  return { group: doc.group, description: doc.description, default: doc.default ?? dflt, secret: doc.secret ?? false, type, schema };
}

/** An integer in min..max (Number() syntax, as before: `1e3` and `0x10` pass). */
export function int(doc: ConfigVarDoc, min: number, max: number, dflt: number): ConfigVar<number>;
export function int(doc: ConfigVarDoc, min: number, max: number, dflt: null): ConfigVar<number | null>;
export function int(doc: ConfigVarDoc, min: number, max: number, dflt: number | null): ConfigVar<number | null> {
  return entry(doc, `integer ${min}..${max}`, dflt, (raw) => {
    const n = raw.trim() === '' ? NaN : Number(raw);
    if (!Number.isSafeInteger(n) || n < min || n > max) throw refuse(`not an integer in ${min}..${max}`);
    return n;
  }, dflt === null ? 'unset' : `\`${dflt}\``);
}

/** on/off (also 1/0, true/false, yes/no, any case). Unset: `dflt`, or undefined where the default is derived. */
export function onOff(doc: ConfigVarDoc, dflt: boolean): ConfigVar<boolean>;
export function onOff(doc: ConfigVarDoc & { default: string }, dflt: undefined): ConfigVar<boolean | undefined>;
export function onOff(doc: ConfigVarDoc, dflt: boolean | undefined): ConfigVar<boolean | undefined> {
  return entry(doc, 'on/off', dflt, (raw) => {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    throw refuse('not one of on/off, true/false, yes/no, 1/0');
  }, dflt === undefined ? '' : dflt ? '`on`' : '`off`');
}

/** One of `values` (trimmed and lower-cased first when `fold`). */
export function oneOf<const V extends string>(doc: ConfigVarDoc, values: readonly V[], dflt: V, fold = false): ConfigVar<V> {
  const schema = z.enum(values as [V, ...V[]]);
  return entry(doc, values.join(' | '), dflt, (raw) => {
    const r = schema.safeParse(fold ? raw.trim().toLowerCase() : raw);
    if (!r.success) throw refuse(`not one of ${values.join(', ')}`);
    return r.data;
  }, `\`${dflt}\``);
}

/** Free text matching `pattern` (`what` names the rule in the table and in errors). */
export function text(doc: ConfigVarDoc & { default: string }, what: string, pattern: RegExp | null): ConfigVar<string | undefined> {
  return entry(doc, what, undefined, (raw) => {
    if (pattern && !pattern.test(raw)) throw refuse(`must be ${what}`);
    return raw;
  }, doc.default);
}

/** Comma-separated items, each checked by `item` (blank items dropped; all blank = unset). */
export function list<T>(doc: ConfigVarDoc & { default: string }, what: string, item: (s: string) => T): ConfigVar<T[] | undefined> {
  return entry(doc, `comma-separated ${what}`, undefined, (raw) => {
    const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
    return items.length ? items.map(item) : undefined;
  }, doc.default);
}

/** A value read by a stage's own parser (e.g. auth's API_KEYS), which throws ConfigError. */
export function custom<T>(doc: ConfigVarDoc & { default: string }, type: string, parse: (raw: string) => T): ConfigVar<T | undefined> {
  return entry<T | undefined>(doc, type, undefined, parse, doc.default);
}

/** An absolute URL whose scheme is one of `protocols` (e.g. ['postgres:', 'postgresql:']). */
export function url(doc: ConfigVarDoc & { default: string }, protocols: readonly string[]): ConfigVar<string | undefined> {
  return entry(doc, `URL (${protocols.map((p) => p.replace(/:$/, '')).join(', ')})`, undefined, (raw) => {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw refuse('not a URL');
    }
    if (!protocols.includes(u.protocol)) throw refuse(`scheme must be ${protocols.join(' or ')}`);
    return raw;
  }, doc.default);
}
