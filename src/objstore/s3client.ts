/**
 * Building the S3Client an S3Bucket uses: our retry decisions plugged into the SDK's retry
 * middleware, Content-MD5 on DeleteObjects, an optional per-attempt request counter, HTTP agents
 * the bucket can destroy, and credentials held in a provider closure rather than in plain config.
 */
import { createHash } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { backoffDelay, isRetryable, type RetryPolicy, type Sleep } from './retry.js';
import type { Secret } from './secret.js';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: Secret;
  sessionToken?: Secret;
}

export interface S3HttpOptions {
  /** Socket idle time during a request before it fails (ms, 0 = none). */
  requestTimeoutMs?: number;
  connectionTimeoutMs?: number;
  /** Keep-alive connections idle longer than this are closed (ms). */
  idleTimeoutMs?: number;
  maxSockets?: number;
  insecureSkipVerify?: boolean;
  /** PEM CA bundle(s) for TLS; replaces the system's CAs. */
  ca?: string | string[];
  /** PEM client certificate and key (mutual TLS). */
  cert?: string;
  key?: Secret;
  /** TLS server name (SNI) when it differs from the endpoint host. */
  serverName?: string;
}

export interface RetrySetup {
  policy: RetryPolicy;
  sleep: Sleep;
  random: () => number;
  now: () => number;
  /** Turns an SDK error into ours, so the decision comes from the retry table. */
  mapError: (err: unknown) => Error;
  onRetry: (err: unknown, attempt: number, delayMs: number) => void;
}

export interface S3ClientSetup {
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  credentials?: S3Credentials;
  http: S3HttpOptions;
  retry: RetrySetup;
  onRequest?: (command: string) => void;
}

export interface BuiltS3Client {
  client: S3Client;
  /** Closes the client and every pooled connection. */
  destroy(): void;
}

type SdkRetryStrategy = Extract<
  NonNullable<S3ClientConfig['retryStrategy']>,
  { acquireInitialRetryToken: unknown }
>;
type SdkRetryToken = Awaited<ReturnType<SdkRetryStrategy['acquireInitialRetryToken']>>;

/**
 * The SDK's retry middleware asks this whether and when to retry. It re-signs each attempt and
 * never replays a streaming body; the decision and the (injected) sleep are ours.
 */
export function sdkRetryStrategy(r: RetrySetup): SdkRetryStrategy {
  const token = (count: number, started: number): SdkRetryToken & { started: number } => ({
    started,
    getRetryCount: () => count,
    getRetryDelay: () => 0, // already slept in refreshRetryTokenForRetry
  });
  return {
    acquireInitialRetryToken: async () => token(0, r.now()),
    refreshRetryTokenForRetry: async (prev, info) => {
      const retry = prev.getRetryCount() + 1;
      const started = 'started' in prev && typeof prev.started === 'number' ? prev.started : r.now();
      const mapped = r.mapError(info.error);
      if (retry >= r.policy.maxAttempts || !isRetryable(mapped)) throw mapped;
      const delay = backoffDelay(r.policy, retry, r.random);
      if (r.policy.maxElapsedMs !== undefined && r.now() + delay - started > r.policy.maxElapsedMs) {
        throw mapped;
      }
      r.onRetry(mapped, retry, delay);
      await r.sleep(delay);
      return token(retry, started);
    },
    recordSuccess: () => {},
  };
}

function isHttpRequestLike(x: unknown): x is { headers: Record<string, string>; body: unknown } {
  return typeof x === 'object' && x !== null && 'headers' in x && typeof x.headers === 'object';
}

/**
 * DeleteObjects must carry a checksum; current SDKs send a CRC32 header, but Swift (and older S3
 * implementations) insist on Content-MD5. Runs after the checksum middleware (build step, normal
 * priority) and before signing.
 */
export function addContentMd5ForDeleteObjects(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'DeleteObjectsCommand' && isHttpRequestLike(args.request)) {
        const req = args.request;
        const body = req.body;
        if (typeof body === 'string' || body instanceof Uint8Array) {
          for (const h of Object.keys(req.headers)) {
            const l = h.toLowerCase();
            if (l.startsWith('x-amz-checksum-') || l === 'x-amz-sdk-checksum-algorithm')
              delete req.headers[h];
          }
          req.headers['content-md5'] = createHash('md5').update(body).digest('base64');
        }
      }
      return next(args);
    },
    { step: 'build', priority: 'low', name: 'strataContentMd5' },
  );
}

/** Calls `onRequest` for every HTTP attempt (inside the retry loop). */
export function addRequestCounter(client: S3Client, onRequest: (command: string) => void): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      onRequest(context.commandName ?? 'unknown');
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'strataRequestCounter' },
  );
}

export function createS3Client(setup: S3ClientSetup): BuiltS3Client {
  const http = setup.http;
  const agentOpts = { keepAlive: true, maxSockets: http.maxSockets ?? 64, timeout: http.idleTimeoutMs };
  const httpAgent = new HttpAgent(agentOpts);
  const httpsAgent = new HttpsAgent({
    ...agentOpts,
    rejectUnauthorized: !(http.insecureSkipVerify ?? false),
    ...(http.ca !== undefined ? { ca: http.ca } : {}),
    ...(http.cert !== undefined ? { cert: http.cert } : {}),
    ...(http.key !== undefined ? { key: http.key.reveal() } : {}),
    ...(http.serverName !== undefined ? { servername: http.serverName } : {}),
  });
  const creds = setup.credentials;
  const client = new S3Client({
    region: setup.region,
    ...(setup.endpoint !== undefined ? { endpoint: setup.endpoint } : {}),
    forcePathStyle: setup.forcePathStyle,
    // A provider, so the client config holds no plain secret.
    ...(creds
      ? {
          credentials: async () => ({
            accessKeyId: creds.accessKeyId,
            secretAccessKey: creds.secretAccessKey.reveal(),
            ...(creds.sessionToken ? { sessionToken: creds.sessionToken.reveal() } : {}),
          }),
        }
      : {}),
    // CRC trailers and aws-chunked bodies are not understood by every S3 implementation.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: setup.retry.policy.maxAttempts,
    retryStrategy: sdkRetryStrategy(setup.retry),
    requestHandler: {
      httpAgent,
      httpsAgent,
      requestTimeout: http.requestTimeoutMs ?? 120_000,
      connectionTimeout: http.connectionTimeoutMs ?? 10_000,
    },
    // Without a logger the SDK prints some warnings to the console; they are not ours to print.
    logger: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
  });
  addContentMd5ForDeleteObjects(client);
  if (setup.onRequest) addRequestCounter(client, setup.onRequest);
  return {
    client,
    destroy: () => {
      client.destroy();
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
