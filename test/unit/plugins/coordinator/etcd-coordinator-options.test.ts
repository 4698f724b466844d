import { describe, expect, it } from 'vitest';
import { SmartQueueError } from '../../../../engine/errors.js';
import {
  etcdCoordinatorOptionsFromUrl,
  resolveEtcdCoordinatorOptions,
} from '../../../../plugins/coordinator/etcd/index.js';

function optionsError(fn: () => unknown): SmartQueueError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SmartQueueError);
    expect((error as SmartQueueError).code).toBe('INVALID_OPTIONS');
    return error as SmartQueueError;
  }
  throw new Error('expected INVALID_OPTIONS');
}

describe('resolveEtcdCoordinatorOptions', () => {
  it('applies the documented defaults', () => {
    const resolved = resolveEtcdCoordinatorOptions();
    expect(resolved.endpoints).toEqual(['http://127.0.0.1:2379']);
    expect(resolved.prefix).toBe('smartqueue');
    expect(resolved.instanceId).toMatch(/^coord-[0-9a-f]{12}$/);
    expect(resolved.leaseTtlMs).toBe(10_000);
    expect(resolved.leaseTtlSeconds).toBe(10);
    expect(resolved.rebalanceIntervalMs).toBe(5000);
    expect(resolved.dialTimeoutMs).toBe(5000);
    expect(resolved.tls).toBeUndefined();
    expect(resolveEtcdCoordinatorOptions().instanceId).not.toBe(resolved.instanceId);
  });

  it('rounds the session TTL up to whole seconds, at least 1', () => {
    expect(resolveEtcdCoordinatorOptions({ leaseTtlMs: 1500 }).leaseTtlSeconds).toBe(2);
    expect(resolveEtcdCoordinatorOptions({ leaseTtlMs: 10 }).leaseTtlSeconds).toBe(1);
  });

  it('names every problem in one INVALID_OPTIONS error', () => {
    const error = optionsError(() =>
      resolveEtcdCoordinatorOptions({
        endpoints: ['nope'],
        prefix: 'bad prefix/',
        leaseTtlMs: -1,
        dialTimeoutMs: 0,
        shards: 1.5,
        tls: { ca: 'pem', cert: 'only-cert' },
      }),
    );
    for (const word of ['endpoint', 'prefix', 'leaseTtlMs', 'dialTimeoutMs', 'shards', 'tls.cert']) {
      expect(error.message).toContain(word);
    }
    expect((error.details.problems as string[]).length).toBe(6);
  });
});

describe('etcdCoordinatorOptionsFromUrl', () => {
  it('parses hosts, prefix and query', () => {
    expect(etcdCoordinatorOptionsFromUrl('etcd://a:2379,b:2380/prod/sq?ttlMs=6000&shards=64')).toEqual({
      endpoints: ['http://a:2379', 'http://b:2380'],
      prefix: 'prod/sq',
      leaseTtlMs: 6000,
      shards: 64,
    });
  });

  it('selects https for etcd+https and reads user:password', () => {
    const options = etcdCoordinatorOptionsFromUrl('etcd+https://me:s%40cret@h:2379');
    expect(options).toEqual({ endpoints: ['https://h:2379'], auth: { username: 'me', password: 's@cret' } });
    expect(resolveEtcdCoordinatorOptions(options).endpoints).toEqual(['https://h:2379']);
  });

  it('refuses other schemes, bad numbers and unknown parameters', () => {
    optionsError(() => etcdCoordinatorOptionsFromUrl('redis://h:1'));
    const error = optionsError(() => etcdCoordinatorOptionsFromUrl('etcd://h:1/p?ttlMs=abc&colour=red'));
    expect(error.message).toContain('ttlMs');
    expect(error.message).toContain('colour');
  });
});
