/**
 * A topic's effective configuration values, read with one Kafka DescribeConfigs request (API key
 * 32, version 1: Kafka 4 removed version 0; any broker answers for a topic resource).
 *
 * Why by hand: the server needs one value, the dead-letter topic's `max.message.bytes` (a copy
 * over it is written as a reference), and @confluentinc/kafka-javascript 1.10.1 has no
 * describeConfigs in either of its APIs. The request is small and fixed; plaintext brokers only,
 * like every connection the server makes (it has no TLS/SASL settings).
 */
import { connect, type Socket } from 'node:net';

const DESCRIBE_CONFIGS = 32;
const VERSION = 1;
const RESOURCE_TOPIC = 2;

/** The values of `names` for `topic`, as the first reachable broker reports them (absent: unknown name). */
export async function describeTopicConfig(brokers: readonly string[], topic: string, names: readonly string[], timeoutMs = 5_000): Promise<Map<string, string | null>> {
  let last: unknown = new Error('no brokers');
  for (const broker of brokers) {
    try {
      return decodeResponse(await roundTrip(broker, encodeRequest(topic, names), timeoutMs));
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

/** The topic's `max.message.bytes` (the broker's `message.max.bytes` unless overridden), or null when it cannot be read. */
export async function topicMaxMessageBytes(brokers: readonly string[], topic: string): Promise<number | null> {
  const n = Number((await describeTopicConfig(brokers, topic, ['max.message.bytes'])).get('max.message.bytes'));
  return Number.isInteger(n) && n >= 4096 ? n : null;
}

function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeInt16BE(b.length);
  return Buffer.concat([len, b]);
}

function i8(n: number): Buffer { const b = Buffer.alloc(1); b.writeInt8(n); return b; }
function i16(n: number): Buffer { const b = Buffer.alloc(2); b.writeInt16BE(n); return b; }
function i32(n: number): Buffer { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; }

function encodeRequest(topic: string, names: readonly string[]): Buffer {
  const header = Buffer.concat([i16(DESCRIBE_CONFIGS), i16(VERSION), i32(1), str('sentiment-stream-config')]);
  // resources: [ { type, name, config_names: [..] } ], include_synonyms: false
  const body = Buffer.concat([i32(1), i8(RESOURCE_TOPIC), str(topic), i32(names.length), ...names.map(str), i8(0)]);
  return Buffer.concat([i32(header.length + body.length), header, body]);
}

/** Sends one request and returns the response frame (after its size prefix). */
function roundTrip(broker: string, request: Buffer, timeoutMs: number): Promise<Buffer> {
  const at = broker.lastIndexOf(':');
  const host = broker.slice(0, at);
  const port = Number(broker.slice(at + 1));
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host, port });
    let got = Buffer.alloc(0);
    const fail = (err: Error) => {
      socket.destroy();
      reject(err);
    };
    socket.setTimeout(timeoutMs, () => fail(new Error(`DescribeConfigs to ${broker}: no answer in ${timeoutMs} ms`)));
    socket.on('error', fail);
    socket.on('connect', () => socket.write(request));
    socket.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 4 && got.length >= 4 + got.readInt32BE(0)) {
        socket.destroy();
        resolve(got.subarray(4, 4 + got.readInt32BE(0)));
      }
    });
  });
}

/** Reads a version-1 response: correlation id, throttle, then one result per resource. */
function decodeResponse(frame: Buffer): Map<string, string | null> {
  let at = 0;
  const int8 = () => frame.readInt8((at += 1) - 1);
  const int16 = () => frame.readInt16BE((at += 2) - 2);
  const int32 = () => frame.readInt32BE((at += 4) - 4);
  const nullableString = (): string | null => {
    const len = int16();
    if (len < 0) return null;
    const s = frame.toString('utf8', at, at + len);
    at += len;
    return s;
  };
  int32(); // correlation id
  int32(); // throttle_time_ms
  const values = new Map<string, string | null>();
  for (let r = int32(); r > 0; r--) {
    const errorCode = int16();
    const message = nullableString();
    int8(); // resource type
    const resource = nullableString();
    if (errorCode !== 0) throw new Error(`DescribeConfigs ${resource}: error ${errorCode}${message ? ` (${message})` : ''}`);
    for (let c = int32(); c > 0; c--) {
      const name = nullableString() ?? '';
      const value = nullableString();
      int8(); // read_only
      int8(); // config_source
      int8(); // is_sensitive
      for (let s = int32(); s > 0; s--) { nullableString(); nullableString(); int8(); } // synonyms
      values.set(name, value);
    }
  }
  return values;
}
