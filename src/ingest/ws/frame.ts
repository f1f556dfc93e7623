/**
 * The chunk contract over a WebSocket (schema/chunk-contract.md, "Over a WebSocket"): one binary
 * message is one record.
 *
 *   | u32 big-endian: n | n bytes: UTF-8 JSON {"key": "<call id>", "headers": {"x-...": "..."}} | payload |
 *
 * This module only frames: the record inside is read by the same decoder as a Kafka record
 * (src/ingest/decode.ts), so a frame that parses here can still be refused with a CHUNK_* code.
 * Used by the server (`/ingest`) and by producers (the CLI).
 */
import { AppError } from '../../core/errors.js';

/** Longest header block, bytes (a record's headers are at most ~15 names of 256 characters). */
export const MAX_HEADER_BLOCK_BYTES = 16 * 1024;

/** A record as framed: what a Kafka producer would write. */
export interface FramedRecord {
  key: Buffer;
  headers: Record<string, string>;
  value: Buffer;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function bad(reason: string): AppError {
  return new AppError('INGEST_BAD_FRAME', { protocol: 'ingest', reason });
}

/** Frames one record (key as a string or bytes; header values must be strings). */
export function encodeFrame(record: { key: string | Buffer; headers: Record<string, string>; value: Buffer }): Buffer {
  const key = typeof record.key === 'string' ? record.key : record.key.toString('utf8');
  const block = Buffer.from(JSON.stringify({ key, headers: record.headers }), 'utf8');
  if (block.length > MAX_HEADER_BLOCK_BYTES) throw new RangeError(`header block of ${block.length} bytes exceeds ${MAX_HEADER_BLOCK_BYTES}`);
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(block.length, 0);
  return Buffer.concat([prefix, block, record.value]);
}

/** Reads one frame, or throws INGEST_BAD_FRAME saying what is wrong with it. */
export function decodeFrame(frame: Buffer): FramedRecord {
  if (frame.length < 4) throw bad(`frame of ${frame.length} bytes has no header length`);
  const n = frame.readUInt32BE(0);
  if (n > MAX_HEADER_BLOCK_BYTES) throw bad(`header block of ${n} bytes exceeds ${MAX_HEADER_BLOCK_BYTES}`);
  if (4 + n > frame.length) throw bad(`header block of ${n} bytes runs past the frame's ${frame.length} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.decode(frame.subarray(4, 4 + n)));
  } catch {
    throw bad('header block is not UTF-8 JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad('header block is not a JSON object');
  const { key, headers } = parsed as { key?: unknown; headers?: unknown };
  if (typeof key !== 'string') throw bad('header block has no string "key" (the call id)');
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) throw bad('header block has no "headers" object');
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(headers)) {
    if (typeof v !== 'string') throw bad(`header ${name.slice(0, 64)} is not a string`);
    out[name] = v;
  }
  return { key: Buffer.from(key, 'utf8'), headers: out, value: frame.subarray(4 + n) };
}
