// The demo as a newcomer uses it: started as a process, psql through the
// proxy, a pod killed, a tenant suspended and resumed, CPU load adding pods
// and their drain keeping sessions, the system interface, Ctrl-C, a restart
// on the same data, and the ways a start can go wrong.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../kvpod/testing/process.js';
import { childrenOf, describeProcesses, isAlive, psql, startDemo, type DemoProcess } from './testing/demo-process.js';

let dataDir: string;
let port: number;
let demo: DemoProcess | undefined;
const started: DemoProcess[] = [];

// Short clocks, so idling, scaling and draining happen within a test; CPU
// targets that two clients in a tight loop exceed but a few psql commands do not.
const FAST = [
  '--idle-timeout', '5s',
  '--sample-interval', '300ms',
  '--cpu-window', '3s',
  '--scale-down-delay', '1s',
  '--target-average-cpu', '0.3',
  '--target-peak-cpu', '0.5',
  '--max-replicas', '2',
  '--drain-limit', '60s',
];

function run(args: string[]): DemoProcess {
  const d = startDemo(args);
  started.push(d);
  return d;
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'shoal-demo-'));
  port = await freePort();
});

afterAll(async () => {
  for (const d of started) d.child.kill('SIGKILL');
  await Promise.all(started.map((d) => d.exited));
  await rm(dataDir, { recursive: true, force: true });
});

function current(): DemoProcess {
  if (!demo) throw new Error('the demo is not running');
  return demo;
}

async function sql(tenant: string, ...commands: string[]): Promise<string> {
  const r = await psql(current().url(tenant), ...commands);
  if (r.code !== 0) throw new Error(`psql for ${tenant} failed (${r.code}): ${r.stderr}\n--- demo output ---\n${current().output()}`);
  return r.stdout;
}

/** A node-postgres session to `tenant` through the proxy, from the URL the demo printed. */
async function session(tenant: string): Promise<pg.Client> {
  const url = new URL(current().url(tenant));
  const client = new pg.Client({
    host: url.hostname,
    port: Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: 'defaultdb',
    ssl: { ca: await import('node:fs/promises').then((fs) => fs.readFile(decodeURI(url.searchParams.get('sslrootcert') ?? ''), 'utf8')) },
    options: `--cluster=${tenant}`,
  });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

const clusters = async (): Promise<string[][]> => (await sql('system', 'SHOW VIRTUAL CLUSTERS')).split('\n').map((l) => l.split('|'));

/** acme's SHOW VIRTUAL CLUSTERS row once it is no longer 'suspending' (bounded). */
async function acmeOnceSettled(): Promise<string[] | undefined> {
  for (let i = 0; ; i++) {
    const row = (await clusters()).find((c) => c[0] === 'acme');
    if (row?.[2] !== 'suspending' || i === 50) return row;
    await sleep(100);
  }
}

describe('shoal demo', () => {
  it('starts with two suspended tenants and prints how to connect', async () => {
    demo = run(['--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, ...FAST]);
    await demo.waitFor(/^ {2}Logs: /, 120_000); // printed after every psql line
    expect(demo.url('acme')).toMatch(/^postgresql:\/\/admin:[^@]+@127\.0\.0\.1:\d+\/defaultdb\?sslmode=verify-full&sslrootcert=.+&options=--cluster%3Dacme$/);
    expect(demo.url('globex')).toContain('--cluster%3Dglobex');
    expect(await clusters()).toEqual([
      ['system', '1', 'system', '1', '1'],
      ['acme', '2', 'suspended', '0', '0'],
      ['globex', '3', 'suspended', '0', '0'],
    ]);
  }, 150_000);

  it('resumes each tenant on its first connection; each sees only its own tables', async () => {
    expect(await sql('acme', 'CREATE TABLE only_acme (id int PRIMARY KEY, v text)', "INSERT INTO only_acme VALUES (1, 'a')", 'SELECT v FROM only_acme')).toBe(
      'CREATE TABLE\nINSERT 0 1\na',
    );
    await current().waitFor(/acme: resumed in \d+ ms on sqlpod-\d+ \(pid \d+/);
    expect(await sql('globex', 'CREATE TABLE only_globex (id int PRIMARY KEY)', 'SELECT count(*) FROM only_globex')).toBe('CREATE TABLE\n0');
    const fromAcme = await psql(current().url('acme'), 'SELECT * FROM only_globex');
    expect(fromAcme.code).not.toBe(0);
    expect(fromAcme.stderr).toContain('relation "only_globex" does not exist');
    const fromGlobex = await psql(current().url('globex'), 'SELECT * FROM only_acme');
    expect(fromGlobex.stderr).toContain('relation "only_acme" does not exist');
  }, 60_000);

  it('replaces a killed SQL pod; the next connection finds the data', async () => {
    // An open session keeps the tenant from idling away while the test looks for its pod.
    const holder = await session('acme');
    const pids = current()
      .lines.map((l) => l.match(/^ {2}acme: .*\(pid (\d+)/)?.[1])
      .filter((p): p is string => p !== undefined)
      .map(Number)
      .filter(isAlive);
    expect(pids).toHaveLength(1);
    const from = current().lines.length;
    process.kill(pids[0] ?? 0, 'SIGKILL');
    await current().waitFor(/\(acme\) exited unexpectedly/, 10_000, from);
    await holder.end().catch(() => undefined);
    expect(await sql('acme', 'SELECT v FROM only_acme WHERE id = 1')).toBe('a');
    await current().waitFor(/acme: sqlpod-\d+ \(pid \d+\) added/, 10_000, from);
  }, 60_000);

  it('suspends an idle tenant and resumes it on the next connection', async () => {
    const from = current().lines.length;
    await current().waitFor(/acme: suspended \(no session for/, 20_000, from);
    // The decision is logged when replicas drop to 0; the idle pod's drain and exit follow it.
    expect(await acmeOnceSettled()).toEqual(['acme', '2', 'suspended', '0', '0']);
    expect(await sql('acme', 'SELECT count(*) FROM only_acme')).toBe('1');
    await current().waitFor(/acme: resumed in \d+ ms/, 10_000, from);
  }, 60_000);

  it('adds a pod under CPU load, and drains one when the load is gone without ending its sessions', async () => {
    const from = current().lines.length;
    const busy = [await session('acme'), await session('acme')];
    let loading = true;
    const load = busy.map(async (c) => {
      while (loading) await c.query('SELECT count(*) FROM only_acme WHERE v = $1', ['a']);
    });
    try {
      await current().waitFor(/acme: 1 → 2 pods \((peak|average)/, 30_000, from);
      await current().waitFor(/acme: sqlpod-\d+ \(pid \d+\) added/, 30_000, from);
    } finally {
      loading = false;
      await Promise.all(load);
    }
    // Least connections: a new session goes to the new pod, so both pods hold sessions.
    const third = await session('acme');
    const sessions = [...busy, third];
    await current().waitFor(/acme: 2 → 1 pods/, 30_000, from);
    await current().waitFor(/acme: draining sqlpod-\d+/, 10_000, from);
    for (const c of sessions) expect((await c.query('SELECT count(*)::int AS n FROM only_acme')).rows).toEqual([{ n: 1 }]);
    await Promise.all(sessions.map((c) => c.end()));
  }, 120_000);

  it('creates and drops a virtual cluster through the system interface, for the system admin only', async () => {
    expect(await sql('system', 'CREATE VIRTUAL CLUSTER initech')).toBe('CREATE VIRTUAL CLUSTER');
    expect((await clusters()).map((c) => c[0])).toEqual(['system', 'acme', 'globex', 'initech']);
    await current().waitFor(/virtual cluster initech created \(ID 4\)/);
    expect(await sql('initech', 'CREATE TABLE t (a int PRIMARY KEY)', 'INSERT INTO t VALUES (7)', 'SELECT a FROM t')).toBe('CREATE TABLE\nINSERT 0 1\n7');

    const dup = await psql(current().url('system'), 'CREATE VIRTUAL CLUSTER initech');
    expect(dup.stderr).toContain('virtual cluster "initech" already exists');
    const badName = await psql(current().url('system'), 'CREATE VIRTUAL CLUSTER "Not_A_Label"');
    expect(badName.stderr).toContain('must be a DNS-1123 label');
    const reserved = await psql(current().url('system'), 'CREATE VIRTUAL CLUSTER system');
    expect(reserved.stderr).toContain('reserved for the system tenant');

    // A tenant's admin is not the system admin.
    const tenantAdminUrl = current().url('acme').replace('--cluster%3Dacme', '--cluster%3Dsystem');
    const refused = await psql(tenantAdminUrl, 'SHOW VIRTUAL CLUSTERS');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/password authentication failed|authentication failed/);

    expect(await sql('system', 'DROP VIRTUAL CLUSTER initech')).toBe('DROP VIRTUAL CLUSTER');
    expect((await clusters()).map((c) => c[0])).toEqual(['system', 'acme', 'globex']);
    const gone = await psql(current().url('initech'), 'SELECT 1');
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain('initech');
    expect(await sql('system', 'DROP VIRTUAL CLUSTER IF EXISTS initech')).toBe('DROP VIRTUAL CLUSTER');
  }, 60_000);

  it('stops everything on Ctrl-C, leaving no process behind', async () => {
    const d = current();
    const pid = d.child.pid ?? 0;
    const children = await childrenOf(pid);
    expect(children.length).toBeGreaterThanOrEqual(3); // the kvpod and the pool at least
    d.child.kill('SIGINT');
    expect(await d.exited).toBe(0);
    await d.waitFor(/^stopped$/);
    await sleep(200);
    expect(await describeProcesses(children.filter(isAlive))).toEqual([]);
    demo = undefined;
  }, 60_000);

  it('keeps the data and the tenants across a restart', async () => {
    demo = run(['--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, ...FAST]);
    await demo.waitFor(/^ {2}Logs: /, 120_000); // printed after every psql line
    expect((await clusters()).map((c) => c.slice(0, 3))).toEqual([
      ['system', '1', 'system'],
      ['acme', '2', 'suspended'],
      ['globex', '3', 'suspended'],
    ]);
    expect(await sql('acme', 'SELECT v FROM only_acme')).toBe('a');
  }, 150_000);

  it('refuses a second demo on the same data, a busy port, a bad tenant name and an unusable data directory, and keeps serving', async () => {
    const second = run(['--data-dir', dataDir, '--listen', `127.0.0.1:${await freePort()}`]);
    expect(await second.exited).toBe(1);
    expect(second.output()).toMatch(/another demo \(pid \d+\) is using .*; stop it first/);

    const busy = run(['--data-dir', join(dataDir, 'other'), '--listen', `127.0.0.1:${port}`]);
    expect(await busy.exited).toBe(1);
    expect(busy.output()).toContain(`127.0.0.1:${port} is already in use`);

    const badName = run(['--data-dir', join(dataDir, 'other'), '--tenants', 'acme,Bad_Name']);
    expect(await badName.exited).toBe(2);
    expect(badName.output()).toContain('tenant name "Bad_Name" is not a DNS label');

    const file = join(dataDir, 'a-file');
    await writeFile(file, 'not a directory');
    const unusable = run(['--data-dir', join(file, 'sub'), '--listen', `127.0.0.1:${await freePort()}`]);
    expect(await unusable.exited).toBe(1);
    expect(unusable.output()).toMatch(/data directory .* is not usable/);

    expect(await sql('acme', 'SELECT count(*) FROM only_acme')).toBe('1');
  }, 120_000);

  it('takes its processes down with it when killed outright', async () => {
    const d = current();
    const children = await childrenOf(d.child.pid ?? 0);
    expect(children.length).toBeGreaterThanOrEqual(3);
    d.child.kill('SIGKILL');
    await d.exited;
    demo = undefined;
    const deadline = Date.now() + 15_000;
    while (children.some(isAlive) && Date.now() < deadline) await sleep(100);
    expect(await describeProcesses(children.filter(isAlive))).toEqual([]);
  }, 60_000);
});
