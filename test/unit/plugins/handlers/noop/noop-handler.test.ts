import { describe, expect, it } from 'vitest';
import { noopHandler } from '../../../../../plugins/handlers/noop/index.js';
import { makeContext } from '../make-context.js';

describe('noopHandler', () => {
  it('returns an empty object synchronously, a new one each time', () => {
    const first = noopHandler(makeContext({}));
    expect(first).toEqual({});
    expect(first).not.toBeInstanceOf(Promise);
    expect(noopHandler(makeContext({}))).not.toBe(first);
  });
});
