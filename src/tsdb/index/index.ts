/** Index format v2: writer, reader, matchers and selection. Named re-exports only. */
export { INDEX_MAGIC, INDEX_VERSION_2, INDEX_VERSION_3, type ChunkMeta, type IndexToc } from './format.js';
export {
  IndexWriter,
  IndexWriterError,
  MAX_CHUNK_REF,
  MAX_TIME,
  MIN_TIME,
  type IndexWriterOptions,
  type IndexWriterStats,
} from './writer.js';
export { IndexReader, type IndexSeries } from './reader.js';
export { SeriesCursor } from './cursor.js';
export { SeriesScratch, type MutableLabel } from './series.js';
export {
  formatMatcher,
  inverseMatcher,
  newMatcher,
  parseSelector,
  SelectorParseError,
  type Matcher,
  type MatchType,
} from './matchers.js';
export { compileRegex, RegexSyntaxError, type CompiledRegex, type RegexOptions } from './regex.js';
export { intersect, union, without } from './postings.js';
export {
  type IndexHealthStats,
  type IndexProblem,
  type IndexProblemKind,
  type IndexValidation,
  type ValidateOptions,
} from './validate.js';
