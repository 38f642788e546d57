/**
 * Keys on the ring. Cortex's compactor hashes a tenant with Go's `hash/fnv` New32a over the
 * tenant ID's bytes (UTF-8, Go strings), the same as `users.ShardByUser`.
 */

const FNV32_OFFSET = 0x811c9dc5;
const FNV32_PRIME = 0x01000193;

/** FNV-1a, 32 bits, as an unsigned number. */
export function fnv1a32(bytes: Uint8Array, seed: number = FNV32_OFFSET): number {
  let h = seed >>> 0;
  for (let i = 0; i < bytes.length; i++) {
    h = Math.imul((h ^ bytes[i]!) >>> 0, FNV32_PRIME) >>> 0;
  }
  return h;
}

const utf8 = new TextEncoder();

/** The ring key of a tenant: FNV-1a 32 of its UTF-8 bytes. */
export function tenantKey(tenant: string): number {
  return fnv1a32(utf8.encode(tenant));
}

/** FNV-1a over 32-bit values (little-endian bytes), for cheap fingerprints of token lists. */
export function fnv1a32Words(words: ArrayLike<number>, seed: number = FNV32_OFFSET): number {
  let h = seed >>> 0;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]! >>> 0;
    for (let shift = 0; shift < 32; shift += 8) {
      h = Math.imul((h ^ ((w >>> shift) & 0xff)) >>> 0, FNV32_PRIME) >>> 0;
    }
  }
  return h;
}
