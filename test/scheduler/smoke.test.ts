import { afterEach, expect, test } from 'vitest';
import { FakeExecutor, FakeSource, Harness, testPlan, until } from './helpers.js';

const h = new Harness();
afterEach(() => h.cleanup());

test('smoke: a worker completes every plan', async () => {
  const source = new FakeSource([
    testPlan({ tenant: 'a' }),
    testPlan({ tenant: 'b' }),
    testPlan({ tenant: 'a', min: 7_200_000 }),
  ]);
  const server = await h.server({ source });
  const exec = new FakeExecutor();
  h.worker({ planners: server.address, executor: exec, capacity: 2 });
  await until(() => source.completed.length === 3, 'completions');
  expect(exec.started.map((p) => p.tenant).sort()).toEqual(['a', 'a', 'b']);
});
