import { describe, expect, it } from 'vitest';
import type { SqlPodObject } from '../../shared/kube/sqlpod.js';
import { createLogger } from '../../shared/log/index.js';
import { PoolConnections } from './connections.js';

/** A control client that only counts: which were opened, kept alive, connected and closed. */
class FakeControl {
  connected = 0;
  closed = 0;
  constructor(
    readonly address: string,
    readonly keepAlive: boolean,
    private readonly fail: boolean,
  ) {}
  connect(): Promise<void> {
    this.connected++;
    return this.fail ? Promise.reject(new Error('refused')) : Promise.resolve();
  }
  close(): void {
    this.closed++;
  }
}

function setup(fail = false) {
  const dialed: FakeControl[] = [];
  const connections = new PoolConnections((address, keepAlive) => {
    const c = new FakeControl(address, keepAlive, fail);
    dialed.push(c);
    return c;
  }, createLogger('operator', 'silent'));
  return { connections, dialed };
}

const pod = (labels: Record<string, string>, ip: string | undefined = '10.0.0.7', ready = true): SqlPodObject => ({
  metadata: { name: 'p1', labels },
  spec: { containers: [{ name: 'sqlpod', ports: [{ name: 'control', containerPort: 8443 }] }] },
  status: { ...(ip ? { podIP: ip } : {}), conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});
const inPool = (ip?: string, ready?: boolean) => pod({ 'shoal.dev/pool': 'prewarmed' }, ip, ready);
const plucked = pod({ 'shoal.dev/pool': 'prewarmed', 'shoal.dev/tenant': 'acme', 'shoal.dev/state': 'stamping' });
const running = pod({ 'shoal.dev/pool': 'prewarmed', 'shoal.dev/tenant': 'acme', 'shoal.dev/state': 'running' });

describe('PoolConnections', () => {
  it('opens one kept-alive connection per ready pool pod, however many events repeat it', () => {
    const { connections, dialed } = setup();
    connections.update(inPool(undefined, false), false);
    expect(dialed).toHaveLength(0);
    for (let i = 0; i < 3; i++) connections.update(inPool(), false);
    expect(dialed.map((c) => [c.address, c.keepAlive, c.connected])).toEqual([['10.0.0.7:8443', true, 1]]);
    expect(connections.size).toBe(1);
  });

  it('hands the held connection to the stamp and opens no second one when the pluck is seen after the take', () => {
    const { connections, dialed } = setup();
    connections.update(inPool(), false);
    const taken = connections.take(plucked, '10.0.0.7:8443');
    expect(taken).toBe(dialed[0]);
    // The pluck's own watch event arrives after the stamp took the connection.
    connections.update(plucked, false);
    connections.update(running, false);
    expect(dialed).toHaveLength(1);
    expect(connections.size).toBe(0);
  });

  it('keeps the connection of a pod plucked before the stamp takes it', () => {
    const { connections, dialed } = setup();
    connections.update(inPool(), false);
    connections.update(plucked, false);
    expect(connections.take(plucked, '10.0.0.7:8443')).toBe(dialed[0]);
    expect(dialed[0]?.closed).toBe(0);
  });

  it('dials a one-shot connection when none is held, and again for a pod that left and came back', () => {
    const { connections, dialed } = setup();
    const fresh = connections.take(plucked, '10.0.0.7:8443');
    expect([fresh.keepAlive, fresh.connected]).toEqual([false, 0]);
    // Deleted and recreated under the same name (a StatefulSet-like reuse): it may be stamped again.
    connections.update(plucked, true);
    connections.update(inPool(), false);
    expect(dialed.at(-1)?.keepAlive).toBe(true);
    expect(connections.size).toBe(1);
  });

  it('closes the connection of a pod that moved, went away or stopped being ready', () => {
    const { connections, dialed } = setup();
    connections.update(inPool(), false);
    connections.update(inPool('10.0.0.8'), false);
    expect(dialed.map((c) => [c.address, c.closed])).toEqual([
      ['10.0.0.7:8443', 1],
      ['10.0.0.8:8443', 0],
    ]);
    connections.update(inPool('10.0.0.8', false), false);
    expect(dialed[1]?.closed).toBe(1);
    connections.update(inPool(), false);
    connections.update(inPool(), true);
    expect(dialed[2]?.closed).toBe(1);
    expect(connections.size).toBe(0);
  });

  it('forgets a connection that could not be opened, and closes everything on closeAll', async () => {
    const failing = setup(true);
    failing.connections.update(inPool(), false);
    await new Promise((r) => setImmediate(r));
    expect(failing.connections.size).toBe(0);
    const { connections, dialed } = setup();
    connections.update(inPool(), false);
    connections.closeAll();
    expect([dialed[0]?.closed, connections.size]).toEqual([1, 0]);
  });
});
