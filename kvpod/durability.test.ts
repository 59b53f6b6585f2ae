// Durability across crashes: a real kvpod process is killed with SIGKILL in
// the middle of a stream of concurrent commits, restarted on the same data
// directory, and must still hold every commit it acknowledged. Commits whose
// outcome the client never learned may be there or not, but never in part.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvError, type KvClient } from '../shared/kv/client/index.js';
import { tenantPrefix, tenantSpan } from '../shared/keys/index.js';
import { clientWith, createTestCerts, type TestCerts } from './testing/fixtures.js';
import { freePort, startPod, stopPod, type Pod, type Spec } from './testing/process.js';

const TENANT = 2;
const T2 = tenantPrefix(TENANT);
const ROUNDS = 6;
const WRITERS = 16;
// Enough acknowledged commits per round that the check cannot pass vacuously.
const MIN_ACKED_PER_ROUND = 50;

const key = (s: string) => Buffer.concat([T2, Buffer.from(s)]);
const hex = (b: Buffer) => b.toString('hex');

/** One small atomic transaction: two keys with one value. */
interface Commit {
  id: string;
  keys: [Buffer, Buffer];
  value: Buffer;
}

function makeCommit(round: number, writer: number, seq: number): Commit {
  const id = `r${round}/w${writer}/${seq}`;
  // A value unique to this commit, so an old or foreign value cannot pass for it.
  const value = Buffer.from(`${id}:${Math.random().toString(36).slice(2)}`);
  return { id, keys: [key(`${id}/a`), key(`${id}/b`)], value };
}

interface RoundState {
  killed: boolean;
  inflight: number;
  acked: Commit[];
  unknown: Commit[];
  /** Failures before the kill: none are expected for blind writes to a healthy kvpod. */
  earlyErrors: unknown[];
  /** Failures after the kill that are not the transport giving up. */
  oddErrors: unknown[];
}

async function writer(client: KvClient, round: number, w: number, state: RoundState): Promise<void> {
  for (let seq = 0; !state.killed; seq++) {
    const c = makeCommit(round, w, seq);
    state.inflight++;
    try {
      await client.commit(c.keys.map((k) => ({ put: { key: k, value: c.value } })));
      // Resolved, even if after the kill: the reply was sent after the synced write.
      state.acked.push(c);
    } catch (err) {
      state.unknown.push(c);
      if (!state.killed) state.earlyErrors.push(err);
      else if (!(err instanceof KvError && ['UNAVAILABLE', 'DEADLINE_EXCEEDED', 'INTERNAL'].includes(err.code))) state.oddErrors.push(err);
      return;
    } finally {
      state.inflight--;
    }
  }
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Every key/value of the tenant, by hex key. */
async function readAll(client: KvClient): Promise<Map<string, Buffer>> {
  const { kvs, resumeSpan } = await client.scan(tenantSpan(TENANT));
  expect(resumeSpan).toBeNull();
  return new Map(kvs.map((kv) => [hex(kv.key), kv.value]));
}

let certs: TestCerts;
let spec: Spec;
let pod: Pod | undefined;
const clients: KvClient[] = [];

beforeAll(async () => {
  certs = await createTestCerts();
  const server = certs.write('kvpod', await certs.issue({ kind: 'kvpod-server' }));
  spec = { ca: certs.caPath, cert: server.cert, key: server.key, dataDir: mkdtempSync(join(tmpdir(), 'shoal-kv-durability-')), port: await freePort() };
});

afterAll(async () => {
  for (const c of clients) c.close();
  if (pod) await stopPod(pod);
  if (spec) rmSync(spec.dataDir, { recursive: true, force: true });
  if (certs) rmSync(certs.dir, { recursive: true, force: true });
});

function newClient(pair: Parameters<typeof clientWith>[1], extra: Parameters<typeof clientWith>[3] = {}): KvClient {
  const client = clientWith(certs, pair, [`127.0.0.1:${spec.port}`], extra);
  clients.push(client);
  return client;
}

describe('durability across SIGKILL', () => {
  it(`keeps every acknowledged commit through ${ROUNDS} kills during concurrent commits`, { timeout: 120_000 }, async () => {
    const started = Date.now();
    pod = await startPod(spec);
    const operator = newClient(await certs.operator());
    await operator.createTenant('alpha', TENANT);
    operator.close();

    const tenantPair = await certs.tenant(TENANT);
    // Outcomes settle over time: an unknown commit found whole after a restart
    // must stay; one found absent must never appear later.
    const mustExist = new Map<string, Commit>();
    const mustNotExist = new Map<string, Commit>();
    let totalAcked = 0;

    for (let round = 1; round <= ROUNDS; round++) {
      // Alive process, so a single attempt; the deadline only bounds a hung call after the kill.
      const client = newClient(tenantPair, { attempts: 1, deadlineMs: 5_000 });
      const state: RoundState = { killed: false, inflight: 0, acked: [], unknown: [], earlyErrors: [], oddErrors: [] };
      const writers = Array.from({ length: WRITERS }, (_, w) => writer(client, round, w, state));

      const delayMs = 150 + Math.floor(Math.random() * 450);
      await sleep(delayMs);
      // On a slow machine the delay alone may not be enough for a meaningful round.
      await until(() => state.acked.length >= MIN_ACKED_PER_ROUND || state.earlyErrors.length > 0, 20_000, `${MIN_ACKED_PER_ROUND} acknowledged commits in round ${round}`);
      expect(state.earlyErrors, 'commits failed before the kill').toEqual([]);
      const inflightAtKill = state.inflight;
      const ackedAtKill = state.acked.length;
      state.killed = true;
      const current = pod;
      current.child.kill('SIGKILL');
      await Promise.all(writers);
      await current.exited;
      client.close();
      expect(current.child.signalCode).toBe('SIGKILL');
      expect(state.oddErrors, 'unexpected errors after the kill').toEqual([]);
      expect(inflightAtKill, 'no commit was in flight at the kill').toBeGreaterThan(0);

      pod = await startPod(spec);
      const reader = newClient(tenantPair);
      const stored = await readAll(reader);
      reader.close();

      for (const c of state.acked) mustExist.set(c.id, c);
      totalAcked += state.acked.length;
      const missing: string[] = [];
      const wrong: string[] = [];
      const check = (c: Commit, present: boolean) => {
        for (const k of c.keys) {
          const value = stored.get(hex(k));
          if (!value) {
            if (present) missing.push(`${c.id} (${k.subarray(T2.length).toString()})`);
          } else if (!present || !value.equals(c.value)) {
            wrong.push(`${k.subarray(T2.length).toString()} = ${value.toString()}, expected ${present ? c.value.toString() : 'nothing'}`);
          }
        }
      };
      for (const c of mustExist.values()) check(c, true);
      for (const c of mustNotExist.values()) check(c, false);

      let unknownPresent = 0;
      const torn: string[] = [];
      for (const c of state.unknown) {
        const values = c.keys.map((k) => stored.get(hex(k)));
        const found = values.filter((v) => v !== undefined).length;
        if (found === 0) {
          mustNotExist.set(c.id, c);
        } else if (found === c.keys.length && values.every((v) => v?.equals(c.value))) {
          unknownPresent++;
          mustExist.set(c.id, c);
        } else {
          torn.push(`${c.id}: ${values.map((v) => v?.toString() ?? '<absent>').join(', ')}`);
        }
      }

      // Nothing the writers did not write: every stored key belongs to a known commit.
      const known = new Set([...mustExist.values(), ...mustNotExist.values(), ...state.unknown].flatMap((c) => c.keys.map(hex)));
      const stray = [...stored.keys()].filter((k) => !known.has(k)).map((k) => Buffer.from(k, 'hex').subarray(T2.length).toString());

      console.log(
        `round ${round}: killed after ${delayMs} ms with ${inflightAtKill} commits in flight; ` +
          `acknowledged ${state.acked.length} (${ackedAtKill} before the kill), unknown ${state.unknown.length} ` +
          `(${unknownPresent} found whole, ${state.unknown.length - unknownPresent} absent); ` +
          `verified ${mustExist.size} present and ${mustNotExist.size} absent commits, ${stored.size} keys`,
      );
      expect(missing, 'acknowledged commits lost').toEqual([]);
      expect(wrong, 'keys with a wrong value or that should not exist').toEqual([]);
      expect(torn, 'commits applied in part').toEqual([]);
      expect(stray, 'keys no writer wrote').toEqual([]);
      expect(state.acked.length).toBeGreaterThanOrEqual(MIN_ACKED_PER_ROUND);
      expect(stored.size).toBe(mustExist.size * 2);
    }
    console.log(`${ROUNDS} kills, ${totalAcked} acknowledged commits, all found; ${Date.now() - started} ms`);
  });
});
