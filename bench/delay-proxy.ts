/**
 * A TCP proxy on 127.0.0.1 that holds every chunk of bytes coming back from the target for a
 * fixed delay (requests go through at once), in order: a replica that answers 500 ms late.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface DelayProxy {
  /** host:port to connect to instead of the target. */
  readonly address: string;
  close(): Promise<void>;
}

export async function startDelayProxy(target: string, delayMs: number): Promise<DelayProxy> {
  const [host, port] = [
    target.slice(0, target.lastIndexOf(':')),
    Number(target.slice(target.lastIndexOf(':') + 1)),
  ];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(port, host);
    sockets.add(client).add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('data', (d: Buffer) => upstream.write(d));
    // Equal delays keep the order: timers of one duration fire in creation order.
    upstream.on('data', (d: Buffer) => {
      setTimeout(() => {
        if (!client.destroyed) client.write(d);
      }, delayMs);
    });
    upstream.on('end', () => setTimeout(() => client.end(), delayMs));
    client.on('end', () => upstream.end());
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const listenPort = typeof addr === 'object' && addr !== null ? addr.port : 0;
  return {
    address: `127.0.0.1:${listenPort}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
