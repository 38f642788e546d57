/**
 * The error of an objstore config and the typed field reader that raises it (src/util/yaml-fields.ts):
 * it names the field (dotted path) and never echoes its value, so a misplaced secret cannot leak.
 */
import { StrataError } from '../util/errors.js';
import { YamlFields } from '../util/yaml-fields.js';

export { isPlain, typeName } from '../util/yaml-fields.js';

export class ObjstoreConfigError extends StrataError {
  /** Dotted path of the offending field ('config.part_size'), or '' for the document itself. */
  readonly field: string;

  constructor(source: string, field: string, detail: string, options?: { cause?: unknown }) {
    super('ERR_OBJSTORE_CONFIG', `${source}: ${field === '' ? '' : `${field}: `}${detail}`, options);
    this.field = field;
  }
}

/** YamlFields raising ObjstoreConfigError for `source`. */
export class Fields extends YamlFields {
  constructor(obj: Record<string, unknown>, path: string, source: string) {
    super(obj, path, (field, detail) => new ObjstoreConfigError(source, field, detail));
  }
}
