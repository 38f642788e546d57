/**
 * The usual shape of a compacted meta: what the metas file stores in columns and the meta table
 * packs into typed arrays. Anything else (extra compaction fields, rewrites, file hashes, a
 * non-empty index_stats) is kept whole, as JSON in the file and as an object in memory.
 */
import type { BlockMeta } from '../../tsdb/meta.js';

export function isCommonShape(m: BlockMeta): boolean {
  const c = m.compaction;
  if (c.deletable !== undefined || c.parents !== undefined || c.failed !== undefined) return false;
  if (c.hints !== undefined) return false;
  const t = m.thanos;
  if (t === undefined) return true;
  if (t.version !== undefined || t.rewrites !== undefined || t.extensions !== undefined) return false;
  if (t.index_stats !== undefined && !isEmptyRecord(t.index_stats)) return false;
  const files = t.files;
  if (files === undefined) return true;
  // Indexed, no callback: called per block of a restart, mostly before V8 optimizes it.
  for (let j = 0; j < files.length; j++) if (files[j]!.hash !== undefined) return false;
  return true;
}

/** Whether a parsed JSON object has no keys (without Object.keys' array: called per block). */
function isEmptyRecord(o: object): boolean {
  for (const k in o) if (Object.hasOwn(o, k)) return false;
  return true;
}
