/**
 * The ack sender of `/ingest` on real sockets: frames sent in one tick leave in one socket write
 * (the cost bench/capacity-profile.ts found), arrive whole and in order, and later ticks still
 * send (the socket is uncorked again).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { coalescingSender } from '../../../src/ingest/ws/coalescing-send.js';

test('frames sent in one tick go out in one socket write, in order; the next tick sends too', async () => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  try {
    const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
    const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
    const received: string[] = [];
    client.on('message', (d) => received.push(String(d)));
    await once(client, 'open');
    const [server] = await accepted;
    // Count the socket's writes to the kernel: net.Socket's _writev (corked batch) and _write.
    const socket = (server as unknown as { _socket: Duplex & { _writev?: (...a: unknown[]) => void; _write: (...a: unknown[]) => void } })._socket;
    let writes = 0;
    const writev = socket._writev!.bind(socket);
    const write = socket._write.bind(socket);
    socket._writev = (...a) => (writes++, writev(...a));
    socket._write = (...a) => (writes++, write(...a));

    const send = coalescingSender(server);
    for (let n = 0; n < 20; n++) send(JSON.stringify({ type: 'ack', n }));
    await new Promise((r) => setImmediate(r));
    assert.equal(writes, 1, 'twenty frames of one tick: one write');
    send(JSON.stringify({ type: 'ack', n: 20 }));
    await new Promise((r) => setImmediate(r));
    assert.equal(writes, 2, 'a frame of a later tick: its own write');

    const deadline = Date.now() + 5000;
    while (received.length < 21 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(received.map((m) => (JSON.parse(m) as { n: number }).n), Array.from({ length: 21 }, (_, n) => n));

    // Sending to a closed socket is a no-op, as ws.send is not called on it.
    client.close();
    await once(server, 'close');
    send('{"type":"ack","n":21}');
  } finally {
    for (const c of wss.clients) c.terminate();
    wss.close();
  }
});
