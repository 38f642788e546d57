/**
 * Server-side encryption for S3 requests, as Thanos' sse_config: SSE-S3 and SSE-KMS are asked for
 * on writes only (the store decrypts reads itself); SSE-C sends the customer key on every request
 * that touches object data (PUT, GET, ranged GET, HEAD, multipart create/part/complete), since
 * the store keeps no copy of it. The key goes to the SDK base64-encoded; it adds the key's MD5.
 */
import type { Secret } from './secret.js';

export type S3Sse =
  | { readonly type: 'SSE-S3' }
  | {
      readonly type: 'SSE-KMS';
      readonly kmsKeyId: string;
      readonly kmsEncryptionContext: Readonly<Record<string, string>>;
    }
  /** `key`: the 32-byte customer key, base64-encoded. */
  | { readonly type: 'SSE-C'; readonly key: Secret };

export const SSE_TYPES = ['SSE-S3', 'SSE-KMS', 'SSE-C'] as const;

/** SSE-C keys are AES-256 keys. */
export const SSE_C_KEY_BYTES = 32;

export interface SseWriteParams {
  ServerSideEncryption?: 'AES256' | 'aws:kms';
  SSEKMSKeyId?: string;
  SSEKMSEncryptionContext?: string;
  SSECustomerAlgorithm?: string;
  SSECustomerKey?: string;
}

export interface SseReadParams {
  SSECustomerAlgorithm?: string;
  SSECustomerKey?: string;
}

/** Fields for PutObject and CreateMultipartUpload (lib-storage passes the SSE-C ones on to parts). */
export function sseWriteParams(sse: S3Sse | undefined): SseWriteParams {
  if (sse === undefined) return {};
  if (sse.type === 'SSE-S3') return { ServerSideEncryption: 'AES256' };
  if (sse.type === 'SSE-KMS') {
    const ctx = Object.keys(sse.kmsEncryptionContext).length > 0;
    return {
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: sse.kmsKeyId,
      // The header carries base64(JSON) of the context.
      ...(ctx
        ? {
            SSEKMSEncryptionContext: Buffer.from(JSON.stringify(sse.kmsEncryptionContext)).toString('base64'),
          }
        : {}),
    };
  }
  return sseReadParams(sse);
}

/** Fields for GetObject and HeadObject: only SSE-C needs any. */
export function sseReadParams(sse: S3Sse | undefined): SseReadParams {
  if (sse?.type !== 'SSE-C') return {};
  return { SSECustomerAlgorithm: 'AES256', SSECustomerKey: sse.key.reveal() };
}
