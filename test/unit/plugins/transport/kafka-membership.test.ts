/**
 * KafkaMembership (the scheduler side of Kafka worker heartbeats), on a real balancer and real
 * timers with a short interval: one silent worker is lost, everyone silent at once is not.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createAvlBalancer } from '../../../../plugins/balancer/avl/index.js';
import { KafkaMembership } from '../../../../plugins/transport/kafka/membership.js';

const INTERVAL = 40;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const memberships: KafkaMembership[] = [];
afterEach(() => {
  for (const m of memberships.splice(0)) m.close();
});

function setup() {
  const balancer = createAvlBalancer();
  const logs: string[] = [];
  const m = new KafkaMembership(balancer, INTERVAL, 3, (l) => logs.push(l));
  memberships.push(m);
  const lost: string[] = [];
  m.attach({ workerLost: (id) => lost.push(id), wake: () => {} });
  const beat = (workerId: string) =>
    m.handle({ type: 'beat', workerId, capacity: 2, running: 0, load: 0, at: Date.now() });
  return { m, balancer, lost, logs, beat };
}

describe('KafkaMembership', () => {
  it('declares a worker lost after 3 silent intervals while others keep beating', async () => {
    const { m, balancer, lost, beat } = setup();
    beat('a');
    beat('b');
    expect(balancer.size).toBe(2);
    // 3 intervals at the least; a loaded machine may take longer (a late tick is skipped).
    for (let i = 0; i < 50 && lost.length === 0; i++) {
      await sleep(INTERVAL);
      beat('a');
    }
    expect(lost).toEqual(['b']);
    expect(m.workers()).toEqual(['a']);
  });

  it('judges nobody while every worker is silent (a broker restart), and restarts their clocks after', async () => {
    const { m, lost, logs, beat } = setup();
    beat('a');
    beat('b');
    await sleep(INTERVAL * 8); // everyone silent: 8 intervals, far past 3 missed heartbeats
    expect(lost).toEqual([]);
    expect(logs.join('\n')).toMatch(/no heartbeat from any worker/);
    // Heartbeats come back from a only: b gets a fresh deadline, then is lost.
    beat('a');
    await sleep(INTERVAL);
    expect(lost).toEqual([]);
    for (let i = 0; i < 50 && lost.length === 0; i++) {
      await sleep(INTERVAL);
      beat('a');
    }
    expect(lost).toEqual(['b']);
    expect(m.workers()).toEqual(['a']);
  });
});
