/**
 * `smartqueue run --handlers <module> --threads N --thread-heap MB`: thread tasks run in worker
 * threads; one that runs out of heap fails alone.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../runtime/embedded.js';
import { cli } from '../support/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'sq-cli-threads-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const MODULE = path.resolve(import.meta.dirname, '../fixtures/threads/handlers.ts');

describe('run with worker threads', () => {
  it('runs thread tasks in threads; a task over the heap limit fails alone', async () => {
    const file = path.join(dir, 'threads.yaml');
    writeFileSync(
      file,
      `apiVersion: smartqueue/v1
kind: Workflow
metadata: { name: cli-threads }
spec:
  failurePolicy: continue
  tasks:
    - { id: hot, uses: where, thread: true }
    - { id: cool, uses: where }
    - { id: hog, uses: oom, thread: true }
    - { id: next, uses: where, thread: true, needs: [hot] }
`,
    );
    const state = path.join(dir, 'state.db');
    const r = await cli(
      'run',
      file,
      '--handlers',
      MODULE,
      '--threads',
      '2',
      '--thread-heap',
      '32',
      '--state',
      state,
    );
    expect(r.code).toBe(1); // `hog` failed
    const store = await openStore(state);
    try {
      const runId = (await store.listRuns({ limit: 1 })).runs[0]!.runId;
      const tasks = new Map((await store.getTasks(runId)).map((t) => [t.taskId, t]));
      expect(tasks.get('hot')).toMatchObject({ status: 'succeeded', outputs: { mainThread: false } });
      expect(tasks.get('next')).toMatchObject({ status: 'succeeded', outputs: { mainThread: false } });
      expect(tasks.get('cool')).toMatchObject({ status: 'succeeded', outputs: { mainThread: true } });
      expect(tasks.get('hog')!.status).toBe('failed');
      expect(tasks.get('hog')!.error).toMatch(/memory/i);
    } finally {
      await store.close();
    }
    const bad = await cli('run', file, '--threads', '-1');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--threads must be an integer from 0 to 256');
  }, 60_000);
});
