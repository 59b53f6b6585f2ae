// Durability across crashes: a real kvpod process is killed with SIGKILL in
// the middle of a stream of concurrent commits, restarted on the same data
// directory, and must still hold every commit it acknowledged. Commits whose
// outcome the client never learned may be there or not, but never in part.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvError, type KvClient } from '../shared/kv/client/index.js';
import { tenantPrefix, tenantSpan } from '../shared/keys/index.js';
import { clientWith, createTestCerts, type TestCerts } from './testing/fixtures.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TENANT = 2;
const T2 = tenantPrefix(TENANT);
const ROUNDS = 6;
const WRITERS = 16;
// Enough acknowledged commits per round that the check cannot pass vacuously.
const MIN_ACKED_PER_ROUND = 50;
const READY_TIMEOUT_MS = 30_000;

const key = (s: string) => Buffer.concat([T2, Buffer.from(s)]);
const hex = (b: Buffer) => b.toString('hex');

interface Spec {
  ca: string;
  cert: string;
  key: string;
  dataDir: string;
  port: number;
}

/** A kvpod child process and what it has written, kept for failure messages. */
interface Pod {
  child: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port from an ephemeral listener');
  return address.port;
}

function spawnPod(spec: Spec): Pod {
  const child = spawn(
    process.execPath,
    [
      '--import', 'tsx', 'kvpod/main.ts',
      '--listen', `127.0.0.1:${spec.port}`,
      '--metrics-listen', '127.0.0.1:0',
      '--data-dir', spec.dataDir,
      '--ca-cert', spec.ca,
      '--cert', spec.cert,
      '--key', spec.key,
      // 'info' rather than 'warn': readiness is the "kvpod serving" line.
      '--log-level', 'info',
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // Kept bounded: only the tail matters for a failure message.
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout = (stdout + chunk).slice(-16_384)));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-16_384)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, output: () => `--- stderr ---\n${stderr}\n--- stdout ---\n${stdout}` };
}

/** Resolves once the pod logs that it serves; rejects if it exits first or takes too long. */
function whenServing(pod: Pod): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer | string) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (servingLine(line)) {
          settle();
          resolve();
          return;
        }
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      settle();
      // Let the stderr pipe drain so the message carries the reason.
      setTimeout(() => reject(new Error(`kvpod exited before serving (code ${code}, signal ${signal})\n${pod.output()}`)), 50);
    };
    const timer = setTimeout(() => {
      settle();
      reject(new Error(`kvpod did not report "kvpod serving" within ${READY_TIMEOUT_MS} ms\n${pod.output()}`));
    }, READY_TIMEOUT_MS);
    const settle = () => {
      clearTimeout(timer);
      pod.child.stdout?.off('data', onData);
      pod.child.off('exit', onExit);
    };
    pod.child.stdout?.on('data', onData);
    pod.child.once('exit', onExit);
  });
}

function servingLine(line: string): boolean {
  try {
    const parsed: unknown = JSON.parse(line);
    return typeof parsed === 'object' && parsed !== null && 'msg' in parsed && parsed.msg === 'kvpod serving';
  } catch {
    return false;
  }
}

/** Starts a pod on the spec's fixed port, retrying while the old one's port is not yet free. */
async function startPod(spec: Spec): Promise<Pod> {
  for (let attempt = 1; ; attempt++) {
    const pod = spawnPod(spec);
    try {
      await whenServing(pod);
      return pod;
    } catch (err) {
      await stopPod(pod);
      const portBusy = err instanceof Error && /EADDRINUSE|address already in use/i.test(err.message);
      if (!portBusy || attempt >= 5) throw err;
      await sleep(250 * attempt);
    }
  }
}

async function stopPod(pod: Pod): Promise<void> {
  if (pod.child.exitCode === null && pod.child.signalCode === null) pod.child.kill('SIGKILL');
  await pod.exited;
}

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
