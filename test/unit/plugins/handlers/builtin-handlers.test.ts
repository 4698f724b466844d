import { describe, expect, it } from 'vitest';
import { SmartQueueError } from '../../../../engine/errors.js';
import { builtinHandlers } from '../../../../plugins/handlers/index.js';
import { makeContext } from './make-context.js';

describe('builtinHandlers', () => {
  it('has run, sleep, http and noop, in a new Map each time', async () => {
    const handlers = builtinHandlers();
    expect([...handlers.keys()].sort()).toEqual(['http', 'noop', 'run', 'sleep']);
    expect(builtinHandlers()).not.toBe(handlers);
    expect(await handlers.get('noop')!(makeContext({}))).toEqual({});
    expect(await handlers.get('sleep')!(makeContext({ duration: '1ms' }))).toEqual({ sleptMs: 1 });
    const out = await handlers.get('run')!(
      makeContext({ argv: [process.execPath, '-e', 'console.log("{\\"n\\":1}")'] }),
    );
    expect(out).toMatchObject({ exitCode: 0, n: 1 });
  });

  it('passes per-handler options through', async () => {
    const handlers = builtinHandlers({ http: { allowedHosts: ['example.invalid'] }, run: { baseDir: '/' } });
    await expect(handlers.get('http')!(makeContext({ url: 'http://127.0.0.1:1/' }))).rejects.toThrow(
      /not in allowedHosts/,
    );
    const out = await handlers.get('run')!(
      makeContext({ argv: [process.execPath, '-e', 'console.log(process.cwd())'] }),
    );
    expect((out as { stdout: string }).stdout.trim()).toBe('/');
    expect(() => builtinHandlers({ run: { maxOutputBytes: -1 } })).toThrow(SmartQueueError);
  });
});
