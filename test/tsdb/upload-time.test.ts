import { describe, expect, it } from 'vitest';
import {
  exactUploadTimeMs,
  formatUploadTime,
  UPLOAD_TIME_ISO,
  UPLOAD_TIME_TRIMMED,
  uploadTimeForm,
  uploadTimeText,
} from '../../src/tsdb/upload-time.js';
import { seededRandom } from '../../src/tsdb/ulid.js';

describe('upload times as milliseconds', () => {
  const rnd = seededRandom(4711);
  const MAX = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

  it('reads back both written forms of 20,000 random times', () => {
    for (let i = 0; i < 20_000; i++) {
      // Whole seconds and tens of milliseconds often: the trimmed form's short fractions.
      let ms = Math.floor(rnd() * MAX);
      if (i % 3 === 0) ms -= ms % 1000;
      else if (i % 3 === 1) ms -= ms % 10;
      for (const text of [new Date(ms).toISOString(), formatUploadTime(ms)]) {
        expect(exactUploadTimeMs(text)).toBe(ms);
        expect(uploadTimeText(ms, uploadTimeForm(text))).toBe(text);
      }
    }
    expect(uploadTimeForm('2024-01-02T03:04:05.600Z')).toBe(UPLOAD_TIME_ISO);
    expect(uploadTimeForm('2024-01-02T03:04:05.6Z')).toBe(UPLOAD_TIME_TRIMMED);
  });

  it('accepts a text only when it is given back exactly (random texts, invalid dates included)', () => {
    const d = (n: number, max: number): string => String(Math.floor(rnd() * max)).padStart(n, '0');
    let accepted = 0;
    for (let i = 0; i < 50_000; i++) {
      const frac = ['', `.${d(1, 10)}`, `.${d(2, 100)}`, `.${d(3, 1000)}`, `.${d(4, 10000)}`][i % 5]!;
      const year = i % 7 === 0 ? d(4, 10000) : String(1960 + Math.floor(rnd() * 100));
      let text = `${year}-${d(2, 14)}-${d(2, 33)}T${d(2, 26)}:${d(2, 62)}:${d(2, 62)}${frac}Z`;
      if (i % 11 === 0) text = text.replace(/\d/, 'x');
      if (i % 13 === 0) text = text.replace('Z', '+00:00');
      const ms = exactUploadTimeMs(text);
      if (Number.isNaN(ms)) continue;
      accepted++;
      expect(uploadTimeText(ms, uploadTimeForm(text))).toBe(text);
    }
    expect(accepted).toBeGreaterThan(5_000);
    for (const bad of [
      '2024-02-30T00:00:00Z',
      '2023-02-29T00:00:00Z',
      '2024-01-02T24:00:00Z',
      '2024-01-02T03:04:05.60Z',
      '2024-01-02T03:04:05.Z',
      '2024-01-02T03:04:05.1234Z',
      '1969-12-31T23:59:59Z',
      '2024-01-02 03:04:05Z',
      '2024-01-02T03:04:05.123456789Z',
    ]) {
      expect(exactUploadTimeMs(bad)).toBeNaN();
    }
    expect(exactUploadTimeMs('2024-02-29T00:00:00Z')).toBe(Date.UTC(2024, 1, 29));
  });
});
