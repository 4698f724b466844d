/**
 * The live progress view on a terminal: it redraws one status line in place (carriage return,
 * clear line) and prints finished tasks above it.
 */
import { describe, expect, it } from 'vitest';
import type { CliIO } from '../../../cli/output.js';
import { followRun } from '../../../cli/progress.js';
import { loadYamlText } from '../../../dsl/load.js';
import { compileWorkflow } from '../../../dsl/compiler.js';
import { createEmbeddedRuntime } from '../../../runtime/embedded.js';

const YAML = `apiVersion: smartqueue/v1
kind: Workflow
metadata: { name: tty }
spec:
  deadline: 1m
  tasks:
    - { id: a, uses: sleep, with: { duration: 400ms } }
    - { id: b, uses: sleep, with: { duration: 150ms }, needs: [a] }
    - { id: c, uses: noop, needs: [b] }
`;

describe('progress view (terminal)', () => {
  it('redraws the status line in place and ends on the final counts', async () => {
    const [w] = loadYamlText(YAML, 'tty.yaml').workflows;
    const plan = compileWorkflow(w!.ir, w!.source).plan!;
    const runtime = await createEmbeddedRuntime({ statePath: false, concurrency: 2 });
    let raw = '';
    const io: CliIO = { out: (t) => (raw += t + '\n'), err: () => {}, isTTY: true, raw: (t) => (raw += t) };
    try {
      const runId = runtime.engine.options.coordinator.nextId('run');
      const view = followRun(runtime.engine, runId, io, 'tty', { total: 3, deadlineAt: Date.now() + 60_000 });
      await runtime.engine.startRun(plan, { runId });
      expect(await runtime.engine.waitForRun(runId)).toBe('succeeded');
      view.stop();
    } finally {
      await runtime.close();
    }
    const frames = raw.split('\r\x1b[2K').filter(Boolean);
    // Several frames: redrawn while the run went on (every 100 ms), not printed once at the end.
    const bars = frames.filter((f) => f.startsWith('['));
    expect(bars.length).toBeGreaterThanOrEqual(3);
    expect(bars[0]).toMatch(/^\[\.{24}\] 0\/3 done/);
    // While nothing finishes, the timer still redraws (elapsed time and ETA move on).
    expect(bars.filter((b) => b.includes('0/3 done')).length).toBeGreaterThanOrEqual(2);
    expect(bars.at(-1)).toMatch(/^\[#{24}\] 3\/3 done · 0 running · 0 failed · .* · deadline in \d/);
    // Finished tasks are printed on their own lines above the status line.
    for (const id of ['a', 'b', 'c'])
      expect(frames.some((f) => new RegExp(`^ok +${id} in `).test(f))).toBe(true);
    expect(raw.endsWith('\n')).toBe(true);
  });
});
