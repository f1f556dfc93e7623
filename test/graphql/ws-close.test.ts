/**
 * A client that goes away is not a server error (issue 13, finding 8): a socket reset while
 * events were being sent made graphql-ws report the failed write (EPIPE / ECONNRESET) as the
 * operation's error, logged at error level as "unexpected error in a GraphQL operation".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import WebSocket from 'ws';
import { isClientProtocolError, isPeerGone } from '../../src/graphql/ws.js';
import { makeScore } from '../store/fixtures.js';
import { startHarness, until } from './harness.js';

test('clients that vanish mid-stream log nothing at warn or above; their subscriptions leave the hub', async () => {
  const lines: { level: number; msg: string }[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  const h = await startHarness({ logger });
  try {
    const text = 'x'.repeat(20_000); // large events, so writes are in flight when the peer resets
    let seg = 0;
    for (let round = 0; round < 5; round++) {
      const ws = new WebSocket(h.api.wsUrl, 'graphql-transport-ws');
      ws.on('error', () => {});
      await new Promise((r) => ws.once('open', r));
      ws.send(JSON.stringify({ type: 'connection_init' }));
      await new Promise((r) => ws.once('message', r));
      ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription { segmentScored { segmentIndex text } }' } }));
      await until(() => h.hub.stats().subscribers === 1);
      const pump = setInterval(() => {
        for (let k = 0; k < 50; k++) h.hub.deliverScore(makeScore({ segmentIndex: seg++, text }));
      }, 1);
      await new Promise((r) => setTimeout(r, 30));
      (ws as unknown as { _socket: { resetAndDestroy(): void } })._socket.resetAndDestroy(); // TCP RST: the client is gone
      await until(() => h.hub.stats().subscribers === 0, 3_000, 'the subscription to leave the hub');
      clearInterval(pump);
    }
    const loud = lines.filter((l) => l.level >= 40);
    assert.deepEqual(loud.map((l) => l.msg), [], 'a vanished client is logged at debug only');
  } finally {
    await h.close();
  }
});

test('isPeerGone: write errors of a vanished peer, not other failures', () => {
  for (const code of ['EPIPE', 'ECONNRESET', 'ECONNABORTED', 'ERR_STREAM_DESTROYED']) assert.ok(isPeerGone(Object.assign(new Error(code), { code })));
  assert.ok(!isPeerGone(new Error('boom')));
  assert.ok(!isPeerGone(Object.assign(new Error('x'), { code: 'ENOMEM' })));
  assert.ok(!isPeerGone(null));
});

test('a message over the size limit closes that socket with 1009 and prints nothing (graphql-ws printed an "Internal error")', async () => {
  const printed: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void printed.push(args.map(String).join(' '));
  const lines: { level: number; msg: string }[] = [];
  const h = await startHarness({ maxRequestBytes: 1_000, logger: pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s)) }) });
  try {
    const ws = new WebSocket(h.api.wsUrl, 'graphql-transport-ws');
    ws.on('error', () => {});
    await new Promise((r) => ws.once('open', r));
    ws.send('x'.repeat(5_000));
    assert.equal(await new Promise((r) => ws.once('close', (code) => r(code))), 1009);
  } finally {
    console.error = original;
    await h.close();
  }
  assert.deepEqual(printed, []);
  assert.deepEqual(lines.filter((l) => l.level >= 40).map((l) => l.msg), []);
  assert.ok(lines.some((l) => l.msg.includes('broke the protocol')));
  assert.ok(isClientProtocolError(Object.assign(new RangeError('Max payload size exceeded'), { code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' })));
  assert.ok(!isClientProtocolError(new Error('boom')));
});
