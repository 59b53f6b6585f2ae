// LeaderElector against a real API server (etcd + kube-apiserver v1.33): one
// leader at a time, hand-over on release well inside a lease duration,
// takeover after a crash only once the lease expired, a leader cut off from
// the API server stepping down before its lease can expire, stepping down
// when someone else writes the lease, callbacks once per term, and API
// errors retried rather than thrown.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KubeApi, KubeApiError } from '../../shared/kube/api.js';
import { createLogger } from '../../shared/log/index.js';
import { startTestApiServer, type TestApiServer } from '../../shared/testing/kube-apiserver.js';
import { until } from '../../shared/testing/until.js';
import { LeaderElector, formatMicroTime, leaseSchema, parseMicroTime, type Lease, type LeaderElectorOptions } from './index.js';

const NS = 'leader-test';
const FAST = { leaseDurationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 200 };
let server: TestApiServer;
let api: KubeApi;

interface Candidate {
  readonly elector: LeaderElector;
  readonly identity: string;
  /** 'started' and 'stopped(aborted)' / 'stopped(live)': whether the term's signal was aborted when told. */
  readonly events: string[];
  readonly signals: AbortSignal[];
  readonly leaders: (string | null)[];
  readonly startedAt: number[];
  readonly stoppedAt: number[];
  readonly logs: string[];
}
const candidates: Candidate[] = [];

function candidate(lease: string, identity: string, extra: Partial<LeaderElectorOptions> = {}): Candidate {
  const events: string[] = [];
  const signals: AbortSignal[] = [];
  const leaders: (string | null)[] = [];
  const startedAt: number[] = [];
  const stoppedAt: number[] = [];
  const logs: string[] = [];
  const elector = new LeaderElector({
    api,
    namespace: NS,
    name: lease,
    identity,
    log: createLogger(`leader-${identity}`, 'debug', { write: (line: string) => void logs.push(line) }),
    ...FAST,
    onStartedLeading: (signal) => {
      events.push(signal.aborted ? 'started(aborted)' : 'started');
      signals.push(signal);
      startedAt.push(Date.now());
    },
    onStoppedLeading: () => {
      events.push(signals.at(-1)?.aborted ? 'stopped(aborted)' : 'stopped(live)');
      stoppedAt.push(Date.now());
    },
    onNewLeader: (who) => leaders.push(who),
    ...extra,
  });
  const c = { elector, identity, events, signals, leaders, startedAt, stoppedAt, logs };
  candidates.push(c);
  return c;
}

const leasePath = (name: string, namespace = NS) => `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${name}`;
const readLease = (name: string): Promise<Lease> => api.get(leasePath(name), leaseSchema);


/** Writes the holder over whatever is there, as another program would (retrying races with the renewing leader). */
async function intrude(name: string, leaseDurationSeconds: number): Promise<number> {
  for (;;) {
    const lease = await readLease(name);
    const at = Date.now();
    try {
      await api.replace(leasePath(name), { ...lease, spec: { ...lease.spec, holderIdentity: 'intruder', renewTime: formatMicroTime(at), leaseDurationSeconds } });
      return at;
    } catch (err) {
      if (!(err instanceof KubeApiError && err.reason === 'Conflict')) throw err;
    }
  }
}

/**
 * A TCP relay to the API server (TLS passes through; the certificate names
 * 127.0.0.1) that can cut its clients off: open connections are reset and
 * new ones held unanswered, like a partition, until healed.
 */
async function partitionableApi(): Promise<{ api: KubeApi; cut(): void; heal(): void; close(): Promise<void> }> {
  const target = new URL(server.url);
  const open = new Set<Socket>();
  const held = new Set<Socket>();
  let partitioned = false;
  const relay: Server = createServer((client) => {
    client.on('error', () => undefined);
    if (partitioned) {
      held.add(client);
      client.on('close', () => held.delete(client));
      return;
    }
    const upstream = connect(Number(target.port), target.hostname);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    open.add(client);
    client.on('close', () => open.delete(client));
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const address = relay.address();
  if (!address || typeof address === 'string') throw new Error('relay has no port');
  const dir = mkdtempSync(join(tmpdir(), 'shoal-leader-'));
  const config = JSON.parse(readFileSync(server.kubeconfig, 'utf8')) as { clusters: { cluster: { server: string } }[] };
  for (const c of config.clusters) c.cluster.server = `https://127.0.0.1:${address.port}`;
  writeFileSync(join(dir, 'kubeconfig'), JSON.stringify(config));
  return {
    api: KubeApi.fromKubeconfig(join(dir, 'kubeconfig')),
    cut: () => {
      partitioned = true;
      for (const s of open) s.destroy();
    },
    heal: () => {
      partitioned = false;
      for (const s of held) s.destroy();
    },
    close: async () => {
      for (const s of [...open, ...held]) s.destroy();
      await new Promise((resolve) => relay.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Terms alternate started/stopped, each stop after its signal aborted, never a signal aborted at start. */
function expectWellFormedTerms(c: Candidate): void {
  c.events.forEach((e, i) => expect(e, `${c.identity} event ${i} of ${c.events.join(',')}`).toBe(i % 2 === 0 ? 'started' : 'stopped(aborted)'));
  expect(new Set(c.signals).size).toBe(c.signals.length);
}

beforeAll(async () => {
  server = await startTestApiServer();
  api = KubeApi.fromKubeconfig(server.kubeconfig);
  await api.create('/api/v1/namespaces', { metadata: { name: NS } });
}, 180_000);

afterEach(async () => {
  const all = candidates.splice(0);
  await Promise.all(all.map((c) => c.elector.stop()));
  for (const c of all) {
    expectWellFormedTerms(c);
    expect(c.events.length % 2, `${c.identity} ended with a term still open`).toBe(0);
    expect(c.elector.isLeader).toBe(false);
  }
});

afterAll(async () => {
  await server?.stop();
});

describe('LeaderElector on a real API server', () => {
  it('lets exactly one of two electors lead at any moment, the one the Lease names', async () => {
    const a = candidate('one-at-a-time', 'a');
    const b = candidate('one-at-a-time', 'b');
    a.elector.start();
    b.elector.start();
    await until('a leader', () => a.elector.isLeader || b.elector.isLeader);

    let both = 0;
    let one = 0;
    let samples = 0;
    const end = Date.now() + 2000;
    while (Date.now() < end) {
      const [la, lb] = [a.elector.isLeader, b.elector.isLeader];
      samples++;
      if (la && lb) both++;
      if (la !== lb) one++;
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(both).toBe(0);
    // Renews every 200 ms against a 1 s deadline: a gap would mean a lost term.
    expect(one).toBe(samples);
    expect(a.events.length + b.events.length).toBe(1);

    const [leader, follower] = a.elector.isLeader ? [a, b] : [b, a];
    const lease = await readLease('one-at-a-time');
    expect(lease.spec).toMatchObject({ holderIdentity: leader.identity, leaseDurationSeconds: 2, leaseTransitions: 0 });
    expect(Date.now() - (parseMicroTime(lease.spec.renewTime) ?? 0)).toBeLessThan(1000);
    expect(follower.leaders.at(-1)).toBe(leader.identity);
    expect(leader.leaders.at(-1)).toBe(leader.identity);
  });

  it('hands over on stop(): the follower takes the released lease well before it would have expired', async () => {
    const a = candidate('hand-over', 'a');
    a.elector.start();
    await until('a leading', () => a.elector.isLeader);
    const b = candidate('hand-over', 'b');
    b.elector.start();
    await until('b following a', () => b.leaders.at(-1) === 'a');
    const before = await readLease('hand-over');

    const stopped = Date.now();
    await a.elector.stop();
    expect(a.events).toEqual(['started', 'stopped(aborted)']);
    const released = await readLease('hand-over');
    // Unless b was quicker still: either way a let go.
    expect(released.spec.holderIdentity === '' || released.spec.holderIdentity === 'b').toBe(true);
    await until('b leading', () => b.elector.isLeader);
    const tookMs = Date.now() - stopped;
    expect(tookMs).toBeLessThan(FAST.leaseDurationMs);

    const after = await readLease('hand-over');
    expect(after.spec.holderIdentity).toBe('b');
    expect(after.spec.leaseTransitions).toBe((before.spec.leaseTransitions ?? 0) + 1);
    expect(parseMicroTime(after.spec.acquireTime)).toBeGreaterThanOrEqual(stopped);
    expect(a.leaders.at(-1)).toBe(null);
  });

  it('replaces a leader that vanished without releasing only after its lease expired', async () => {
    const a = candidate('crash', 'a');
    a.elector.start();
    await until('a leading', () => a.elector.isLeader);
    const b = candidate('crash', 'b');
    b.elector.start();
    await until('b following a', () => b.leaders.at(-1) === 'a');

    await a.elector.stop({ release: false });
    expect(a.elector.isLeader).toBe(false);
    expect(a.events).toEqual(['started', 'stopped(aborted)']);
    const last = await readLease('crash');
    expect(last.spec.holderIdentity).toBe('a');
    const lastRenew = parseMicroTime(last.spec.renewTime) ?? NaN;
    const durationMs = (last.spec.leaseDurationSeconds ?? NaN) * 1000;

    await until('b leading', () => b.elector.isLeader, 10_000);
    const tookOver = b.startedAt[0] ?? NaN;
    expect(tookOver - lastRenew).toBeGreaterThanOrEqual(durationMs);
    expect(tookOver - lastRenew).toBeGreaterThanOrEqual(FAST.leaseDurationMs);
    // ...and not much later: a few retry periods.
    expect(tookOver - lastRenew).toBeLessThan(durationMs + 1500);
    const after = await readLease('crash');
    expect(after.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: (last.spec.leaseTransitions ?? 0) + 1 });
  });

  it('ends the term of a leader cut off from the API server before a follower may take over', async () => {
    const link = await partitionableApi();
    try {
      const a = candidate('partition', 'a', { api: link.api });
      a.elector.start();
      await until('a leading', () => a.elector.isLeader);
      const b = candidate('partition', 'b');
      b.elector.start();
      await until('b following a', () => b.leaders.at(-1) === 'a');
      const signal = a.signals[0];
      // Renewing, so that what is tested is a renewed term running out, not the first one.
      await until('a renewing', async () => {
        const { spec } = await readLease('partition');
        return (parseMicroTime(spec.renewTime) ?? 0) - (parseMicroTime(spec.acquireTime) ?? Infinity) >= 3 * FAST.retryPeriodMs;
      });

      link.cut();
      await new Promise((r) => setTimeout(r, 100));
      const cutOff = await readLease('partition');
      expect(cutOff.spec.holderIdentity).toBe('a');
      const lastRenew = parseMicroTime(cutOff.spec.renewTime) ?? NaN;
      await until('b leading', () => b.elector.isLeader, 10_000);
      const bAcquired = parseMicroTime((await readLease('partition')).spec.acquireTime) ?? NaN;
      // a could not renew, and gave up on its own clock within the renew deadline, before b even tried.
      expect(a.stoppedAt).toHaveLength(1);
      expect(signal?.aborted).toBe(true);
      expect(a.elector.isLeader).toBe(false);
      expect((a.stoppedAt[0] ?? NaN) - lastRenew).toBeLessThan(FAST.renewDeadlineMs + 250);
      expect(a.stoppedAt[0]).toBeLessThan(bAcquired);
      expect(bAcquired - lastRenew).toBeGreaterThan(2000);
      expect(a.logs.some((l) => l.includes('no successful renew within the renew deadline'))).toBe(true);

      link.heal();
      await until('a following b', () => a.leaders.at(-1) === 'b', 5000);
      expect(a.elector.isLeader).toBe(false);
      expect(a.events).toEqual(['started', 'stopped(aborted)']);
    } finally {
      await Promise.all(candidates.splice(0).map(async (c) => {
        await c.elector.stop();
        expectWellFormedTerms(c);
      }));
      await link.close();
    }
  });

  it('steps down within a retry period or two when someone else writes the holder', async () => {
    // A long renew deadline, so stepping down on the deadline instead would fail the bound below.
    const slow = { leaseDurationMs: 4000, renewDeadlineMs: 3000, retryPeriodMs: 200 };
    const a = candidate('intruded', 'a', slow);
    a.elector.start();
    await until('a leading', () => a.elector.isLeader);
    const b = candidate('intruded', 'b', slow);
    b.elector.start();
    await until('b following a', () => b.leaders.at(-1) === 'a');
    const signal = a.signals[0];

    const intruded = await intrude('intruded', 30);
    await until('a stepping down', () => a.stoppedAt.length === 1, 5000);
    expect((a.stoppedAt[0] ?? NaN) - intruded).toBeLessThan(1000);
    expect(signal?.aborted).toBe(true);
    expect(a.elector.isLeader).toBe(false);
    await until('both seeing the intruder', () => a.leaders.at(-1) === 'intruder' && b.leaders.at(-1) === 'intruder');

    // The intruder's lease is valid for 30 s: nobody takes it meanwhile.
    const end = Date.now() + 1000;
    while (Date.now() < end) {
      expect(a.elector.isLeader || b.elector.isLeader).toBe(false);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await readLease('intruded')).spec.holderIdentity).toBe('intruder');
    expect(b.events).toEqual([]);
  });

  it('calls onStartedLeading and onStoppedLeading once per term, in order, with a fresh signal each term', async () => {
    const a = candidate('terms', 'a');
    a.elector.start();
    await until('a leading', () => a.elector.isLeader);
    // An outside writer takes the lease for one second; a gets it back once that expires.
    await intrude('terms', 1);
    await until('a stepping down', () => a.stoppedAt.length === 1, 5000);
    await until('a leading again', () => a.elector.isLeader, 5000);
    expect((await readLease('terms')).spec).toMatchObject({ holderIdentity: 'a', leaseTransitions: 1 });
    await a.elector.stop();

    expect(a.events).toEqual(['started', 'stopped(aborted)', 'started', 'stopped(aborted)']);
    expect(a.signals.map((s) => s.aborted)).toEqual([true, true]);
    expect(a.signals[0]).not.toBe(a.signals[1]);
    expect(a.leaders).toEqual(['a', 'intruder', 'a', null]);
    expect((await readLease('terms')).spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 1 });
  });

  it('logs and retries API errors instead of throwing, and leads once the API lets it', async () => {
    const ns = 'leader-later';
    const a = candidate('errors', 'a', { namespace: ns });
    a.elector.start();
    // No such namespace: the create is refused (404) round after round.
    await until('a few refused writes', () => a.logs.filter((l) => l.includes('writing the lease failed')).length >= 3, 5000);
    expect(a.elector.isLeader).toBe(false);
    expect(a.events).toEqual([]);

    await api.create('/api/v1/namespaces', { metadata: { name: ns } });
    await until('a leading', () => a.elector.isLeader, 5000);
    const lease = await api.get(leasePath('errors', ns), leaseSchema);
    expect(lease.spec.holderIdentity).toBe('a');
  });

  it('refuses timings where a leader could outlive its lease', () => {
    const base = { api, namespace: NS, name: 'x', identity: 'a', log: createLogger('leader', 'silent'), onStartedLeading: () => undefined, onStoppedLeading: () => undefined };
    expect(() => new LeaderElector({ ...base, leaseDurationMs: 1000, renewDeadlineMs: 1000, retryPeriodMs: 200 })).toThrow(RangeError);
    expect(() => new LeaderElector({ ...base, leaseDurationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 1000 })).toThrow(RangeError);
    expect(() => new LeaderElector({ ...base, identity: '' })).toThrow(RangeError);
  });
});
