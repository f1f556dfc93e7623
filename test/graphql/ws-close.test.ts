/**
 * A client that goes away is not a server error (issue 13, finding 8): a socket reset while
 * events were being sent made graphql-ws report the failed write (EPIPE / ECONNRESET) as the
 * operation's error, logged at error level as "unexpected error in a GraphQL operation".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import WebSocket from 'ws';
import { isPeerGone } from '../../src/graphql/ws.js';
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
