/**
 * Text frames to a producer, written to the socket once per tick. The pipeline releases a
 * segment's records together (src/ingest/ws/outcomes.ts), so one socket gets tens of acks in one
 * synchronous run; sent one by one, each is its own write system call (writev), the largest
 * cost of the `/ingest` endpoint in bench/capacity.ts's profile. Corking the socket for the rest
 * of the tick puts them in one write: the same frames, in the same order, before any I/O runs.
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

/** A sender of text frames on `ws` that coalesces one tick's frames into one socket write. */
export function coalescingSender(ws: WebSocket): (text: string) => void {
  // ws keeps its net.Socket as `_socket` (set once the upgrade completes); it has no public cork.
  const socketOf = () => (ws as unknown as { _socket?: Duplex | null })._socket ?? null;
  let corked: Duplex | null = null;
  return (text) => {
    if (ws.readyState !== ws.OPEN) return;
    if (corked === null) {
      const socket = socketOf();
      if (socket !== null && !socket.destroyed) {
        corked = socket;
        socket.cork();
        process.nextTick(() => {
          corked = null;
          socket.uncork();
        });
      }
    }
    ws.send(text);
  };
}
