/**
 * A scripted HTTP server that answers S3 requests with canned responses, for failure modes a
 * real store will not produce on demand (throttling, 5xx, cut bodies). In-process, port 0.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export type FakeReply =
  | { kind: 'error'; status: number; code: string }
  | { kind: 'object'; body: Buffer }
  /** Promises `body.length` bytes, sends `sendBytes`, then drops the connection. */
  | { kind: 'cut'; body: Buffer; sendBytes: number }
  /** Promises `body.length` bytes, sends `sendBytes`, then keeps the connection open until close(). */
  | { kind: 'hold'; body: Buffer; sendBytes: number };

export interface FakeS3 {
  endpoint: string;
  requests: Array<{ method: string; url: string }>;
  /** Replies in order; when empty, `fallback` answers. */
  script: FakeReply[];
  fallback: FakeReply;
  close(): Promise<void>;
}

function reply(res: ServerResponse, r: FakeReply): void {
  if (r.kind === 'error') {
    const xml = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${r.code}</Code><Message>scripted ${r.code}</Message><RequestId>fake</RequestId></Error>`;
    res.writeHead(r.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
    res.end(xml);
    return;
  }
  res.writeHead(200, {
    'content-length': r.body.length,
    'last-modified': new Date().toUTCString(),
    etag: '"fake"',
    'content-type': 'application/octet-stream',
  });
  if (r.kind === 'object') {
    res.end(r.body);
    return;
  }
  if (r.kind === 'hold') {
    res.write(r.body.subarray(0, r.sendBytes));
    return;
  }
  res.write(r.body.subarray(0, r.sendBytes), () => res.socket?.destroy());
}

export async function startFakeS3(fallback: FakeReply): Promise<FakeS3> {
  const fake: FakeS3 = {
    endpoint: '',
    requests: [],
    script: [],
    fallback,
    close: async () => {},
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    fake.requests.push({ method: req.method ?? '', url: req.url ?? '' });
    req.resume();
    req.on('end', () => reply(res, fake.script.shift() ?? fake.fallback));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  fake.endpoint = `http://127.0.0.1:${port}`;
  fake.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}
