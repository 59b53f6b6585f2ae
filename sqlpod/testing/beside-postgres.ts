// One SQL pod of a fresh tenant beside a real PostgreSQL, each with an open
// client and the same setup statements run on both: the fixture of the tests
// that compare Shoal's answers with PostgreSQL's statement by statement.
import pg from 'pg';
import { expect } from 'vitest';
import { createTestCerts, startTestKvpod } from '../../kvpod/testing/fixtures.js';
import { startPostgres } from '../../shared/testing/postgres.js';
import type { SqlPod } from '../pod.js';
import { connect, createTenant, sqlError, startStampedPod } from './fixtures.js';

export interface BesidePostgres {
  readonly pod: SqlPod;
  /** A client of the pod, as the tenant's admin. */
  readonly shoal: pg.Client;
  /** A client of the PostgreSQL. */
  readonly reference: pg.Client;
  /** Another client of the pod. */
  connectShoal(): Promise<pg.Client>;
  /** Another client of the PostgreSQL. */
  connectReference(): Promise<pg.Client>;
  stop(): Promise<void>;
}

export interface BesidePostgresOptions {
  /** Run on both, in order, before the tests. */
  readonly setup?: readonly string[];
  /** PostgreSQL server settings besides fsync=off. */
  readonly postgresSettings?: Record<string, string>;
}

export async function startBesidePostgres(tenantName: string, options: BesidePostgresOptions = {}): Promise<BesidePostgres> {
  const certs = await createTestCerts();
  const [kv, postgres] = await Promise.all([startTestKvpod(certs), startPostgres({ settings: { fsync: 'off', ...options.postgresSettings } })]);
  const stops: (() => Promise<void>)[] = [() => kv.stop(), () => postgres.stop()];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s().catch(() => undefined);
  };
  try {
    const tenant = await createTenant(certs, kv.address, tenantName);
    const pod = await startStampedPod(certs, tenant, kv.address);
    stops.push(() => pod.shutdown());
    const shoal = await connect(certs, pod);
    stops.push(() => shoal.end());
    const reference = new pg.Client({ connectionString: postgres.url() });
    await reference.connect();
    stops.push(() => reference.end());
    for (const sql of options.setup ?? []) {
      await shoal.query(sql);
      await reference.query(sql);
    }
    const connectShoal = async () => {
      const client = await connect(certs, pod);
      stops.push(() => client.end());
      return client;
    };
    const connectReference = async () => {
      const client = new pg.Client({ connectionString: postgres.url() });
      await client.connect();
      stops.push(() => client.end());
      return client;
    };
    return { pod, shoal, reference, connectShoal, connectReference, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** What a statement came to: its rows (arrays), or the SQLSTATE it failed with. */
export type Outcome = { rows: unknown[][] } | { code: string };

export async function outcome(client: pg.Client, sql: string): Promise<Outcome> {
  const query = client.query({ text: sql, rowMode: 'array' });
  const r = await query.catch(() => null);
  if (r) return { rows: r.rows as unknown[][] };
  return { code: (await sqlError(query)).code ?? '' };
}

/** Runs a scenario of several sessions on Shoal, then on PostgreSQL; both results must be equal. */
export async function onBoth<T>(side: BesidePostgres, scenario: (connect: () => Promise<pg.Client>) => Promise<T>): Promise<T> {
  const shoal = await scenario(() => side.connectShoal());
  const postgres = await scenario(() => side.connectReference());
  expect(shoal).toEqual(postgres);
  return shoal;
}

/** Whether the promise is still unsettled after `ms` (a statement waiting for a lock). */
export async function stillWaiting(promise: Promise<unknown>, ms = 300): Promise<boolean> {
  const waiting = Symbol('waiting');
  const first = await Promise.race([promise.then(() => null, () => null), new Promise<symbol>((resolve) => setTimeout(() => resolve(waiting), ms))]);
  return first === waiting;
}

/** An outcome with the command tag PostgreSQL sends (`SELECT 3`, `FETCH 2`, `DECLARE CURSOR`). */
export type TaggedOutcome = { rows: unknown[][]; tag: string } | { code: string };

export async function taggedOutcome(client: pg.Client, sql: string): Promise<TaggedOutcome> {
  const query = client.query({ text: sql, rowMode: 'array' });
  const r = await query.catch(() => null);
  if (r) return { rows: r.rows as unknown[][], tag: `${r.command}${r.rowCount === null ? '' : ` ${r.rowCount}`}` };
  return { code: (await sqlError(query)).code ?? '' };
}

export interface Clients {
  readonly shoal: pg.Client;
  readonly reference: pg.Client;
}

async function compareOnBoth<O extends object>(read: (client: pg.Client, sql: string) => Promise<O>, { shoal, reference }: Clients, statements: readonly string[]): Promise<O[]> {
  const outcomes: O[] = [];
  for (const sql of statements) {
    const [mine, theirs] = [await read(shoal, sql), await read(reference, sql)];
    expect({ sql, ...mine }).toEqual({ sql, ...theirs });
    outcomes.push(mine);
  }
  return outcomes;
}

/**
 * Runs the statements one by one on Shoal and on PostgreSQL (the side's own
 * clients unless others are given); each outcome must be the same on both.
 */
export function sameOnBoth(side: BesidePostgres, statements: readonly string[], clients: Clients = side): Promise<Outcome[]> {
  return compareOnBoth(outcome, clients, statements);
}

/** sameOnBoth, comparing the command tags too. */
export function sameTaggedOnBoth(side: BesidePostgres, statements: readonly string[], clients: Clients = side): Promise<TaggedOutcome[]> {
  return compareOnBoth(taggedOutcome, clients, statements);
}
