import { describe, expect, it } from 'vitest';
import { untilSignalled } from '../../src/cli/sync-setup.js';
import { abortedError } from '../../src/ring/retry.js';

/** Runs `action` through untilSignalled and sends it SIGTERM (to this process' listeners only). */
async function stopped(action: (signal: AbortSignal) => Promise<unknown>): Promise<unknown> {
  const done = untilSignalled((_f: null, signal) => action(signal))(null);
  process.emit('SIGTERM');
  return done;
}

const afterAbort = (signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));

describe('untilSignalled', () => {
  it('a stop that interrupts start-up (the abort it asked for, wrapped) is a clean stop', async () => {
    await expect(
      stopped(async (signal) => {
        await afterAbort(signal);
        throw abortedError(signal.reason);
      }),
    ).resolves.toBeUndefined();
  });

  it('any other failure after the signal still fails', async () => {
    await expect(
      stopped(async (signal) => {
        await afterAbort(signal);
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
  });
});
