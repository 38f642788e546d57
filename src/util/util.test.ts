import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { formatDuration, parseDuration } from './duration.js';
import { createLogger } from './logger.js';
import { InvalidArgumentError } from './errors.js';

describe('parseDuration', () => {
  it('parses Prometheus durations', () => {
    expect(parseDuration('0s')).toBe(0);
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('48h')).toBe(172_800_000);
    expect(parseDuration('2d')).toBe(172_800_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(formatDuration(5_400_000)).toBe('1h30m');
  });
  it('rejects junk with a typed error', () => {
    for (const bad of ['', '10', '5x', 'm', '30m1h', '-1s']) {
      expect(() => parseDuration(bad)).toThrowError(InvalidArgumentError);
    }
  });
});

describe('logger', () => {
  it('writes logfmt and redacts credentials', () => {
    let text = '';
    const out = new Writable({
      write(chunk, _enc, cb) {
        text += String(chunk);
        cb();
      },
    });
    const log = createLogger({ out, format: 'logfmt' });
    log.info('hello world', { tenant: 't1', config: { secret_key: 'hunter2', bucket: 'b' } });
    expect(text).toMatch(/level=info tenant=t1 config=.* msg="hello world"/);
    expect(text).not.toContain('hunter2');
  });
});

describe('formatDuration', () => {
  it('can stop at hours, as flag defaults are spelled', () => {
    expect(formatDuration(172_800_000)).toBe('2d');
    expect(formatDuration(172_800_000, 'h')).toBe('48h');
    expect(formatDuration(60_000, 'h')).toBe('1m');
    expect(formatDuration(5_400_500, 'h')).toBe('1h30m500ms');
  });
});
