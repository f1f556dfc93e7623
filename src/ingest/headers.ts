/**
 * Reading the string headers of a raw record. Every failure is CHUNK_MALFORMED_HEADERS with a
 * reason naming the header, so a producer can fix it from the dead-letter record alone.
 */
import { AppError } from '../core/errors.js';
import type { RawChunk } from '../core/ports.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Longest header value accepted (characters): longer is malformed, not truncated. */
export const MAX_HEADER_CHARS = 256;

export function malformed(reason: string): AppError {
  return new AppError('CHUNK_MALFORMED_HEADERS', { reason });
}

/** The header as a string, or undefined when absent. */
export function headerString(raw: RawChunk, name: string): string | undefined {
  const v: unknown = raw.headers[name];
  if (v === undefined || v === null) return undefined;
  // A client may give an array when a header name repeats: ambiguous, so refused.
  if (Array.isArray(v)) throw malformed(`header ${name} appears more than once`);
  let s: string;
  if (typeof v === 'string') s = v;
  else if (Buffer.isBuffer(v)) {
    try {
      s = utf8.decode(v);
    } catch {
      throw malformed(`header ${name} is not valid UTF-8`);
    }
  } else throw malformed(`header ${name} has a ${typeof v} value`);
  if (s.length > MAX_HEADER_CHARS) throw malformed(`header ${name} is longer than ${MAX_HEADER_CHARS} characters`);
  return s;
}

export function requireString(raw: RawChunk, name: string): string {
  const s = headerString(raw, name);
  if (s === undefined || s.trim() === '') throw malformed(`header ${name} is missing`);
  return s;
}

/** A decimal integer (optional sign), safe in a double. */
export function parseIntHeader(name: string, s: string, min = Number.MIN_SAFE_INTEGER): number {
  if (!/^-?\d{1,16}$/.test(s)) throw malformed(`header ${name} must be an integer, got "${s}"`);
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < min) throw malformed(`header ${name} must be an integer >= ${min}, got "${s}"`);
  return n;
}

export function requireInt(raw: RawChunk, name: string, min?: number): number {
  return parseIntHeader(name, requireString(raw, name), min);
}

export function optionalInt(raw: RawChunk, name: string, min?: number): number | undefined {
  const s = headerString(raw, name);
  return s === undefined ? undefined : parseIntHeader(name, s, min);
}

/** A finite positive decimal number (e.g. fps `29.97`); its range is the caller's `bounded`. */
export function requirePositiveNumber(raw: RawChunk, name: string): number {
  const s = requireString(raw, name);
  if (!/^\d{1,16}(\.\d{1,16})?$/.test(s)) throw malformed(`header ${name} must be a positive number, got "${s}"`);
  const n = Number(s);
  if (!(n > 0)) throw malformed(`header ${name} must be > 0, got "${s}"`);
  return n;
}

/** `value` when inside [min, max], else CHUNK_OUT_OF_BOUNDS naming the quantity (schema/chunk.ts BOUNDS). */
export function bounded(what: string, value: number, b: { min: number; max: number; unit: string }): number {
  if (!(value >= b.min && value <= b.max)) throw new AppError('CHUNK_OUT_OF_BOUNDS', { what, value, min: b.min, max: b.max, unit: b.unit });
  return value;
}

export function optionalBool(raw: RawChunk, name: string, fallback: boolean): boolean {
  const s = headerString(raw, name);
  if (s === undefined) return fallback;
  if (s === 'true') return true;
  if (s === 'false') return false;
  throw malformed(`header ${name} must be "true" or "false", got "${s}"`);
}
