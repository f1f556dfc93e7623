/**
 * A TCP proxy between the browser and the API server, so a test can drop the network under a
 * live page while the server keeps running: `cut()` destroys every open connection (the browser
 * sees its WebSocket close abnormally, 1006) and refuses new ones until `restore()`.
 */
import net from 'node:net';

export interface SocketProxy {
  /** The proxy's own address, e.g. http://127.0.0.1:43117 */
  base: string;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startSocketProxy(targetPort: number): Promise<SocketProxy> {
  const open = new Set<net.Socket>();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('error', drop);
      s.on('close', drop);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const cut = () => {
    refusing = true;
    for (const s of open) s.destroy();
    open.clear();
  };
  return {
    base: `http://127.0.0.1:${port}`,
    cut,
    restore() {
      refusing = false;
    },
    async close() {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
