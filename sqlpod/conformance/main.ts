// The sqllogictest conformance run: the corpus's scripts against a
// PostgreSQL-wire server, one clean database per script, a pass rate per
// script and overall, optionally checked against the floor. See README.md.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { z } from 'zod';
import { startPostgres } from '../../shared/testing/postgres.js';
import { startShoal } from '../testing/stack.js';
import { parseTest } from './parser.js';
import { runFile, type FileOutcome, type Place } from './runner.js';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ENGINE = 'postgresql';
const RECORD_TIMEOUT_MS = 10_000;

const FloorFile = z.object({ slt_pass_rate: z.number().min(0).max(1), note: z.string() });

class UsageError extends Error {}

const { values: flags } = parseArgs({
  options: {
    target: { type: 'string', default: 'shoal' },
    url: { type: 'string' },
    corpus: { type: 'string' },
    files: { type: 'string', default: 'select1,select2,select3,select4,select5,evidence' },
    'floor-file': { type: 'string', default: join(projectRoot, 'sqlpod', 'conformance', 'floor.json') },
    'check-floor': { type: 'boolean', default: false },
    'show-failures': { type: 'string', default: '3' },
  },
  strict: true,
});

/** Script names (`select1`, `evidence/in1`) and their paths; `evidence` stands for every script in that folder. */
function selectFiles(corpus: string, spec: string): { name: string; path: string }[] {
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .flatMap((name) => {
      const dir = join(corpus, name);
      if (existsSync(dir) && statSync(dir).isDirectory()) {
        return readdirSync(dir)
          .filter((f) => f.endsWith('.test'))
          .sort()
          .map((f) => ({ name: `${name}/${f.slice(0, -'.test'.length)}`, path: join(dir, f) }));
      }
      const path = join(corpus, name.endsWith('.test') ? name : `${name}.test`);
      if (!existsSync(path)) throw new UsageError(`no script ${name} in ${corpus}`);
      return [{ name: name.replace(/\.test$/, ''), path }];
    });
}

/** Each script gets a new database on the server behind `adminUrl`, dropped afterwards. */
function databasePerFile(adminUrl: string, connectOptions = ''): (file: string) => Promise<Place> {
  let n = 0;
  const admin = async <T>(f: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await f(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  return async (file) => {
    const database = `slt_${process.pid}_${++n}_${file.replace(/[^a-z0-9]+/gi, '_').toLowerCase()}`;
    await admin((c) => c.query(`CREATE DATABASE ${database}`));
    const url = new URL(adminUrl);
    url.pathname = `/${database}`;
    if (connectOptions) url.searchParams.set('options', connectOptions);
    return { url: url.toString(), release: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${database}`)).then(() => undefined) };
  };
}

async function main(): Promise<number> {
  const corpus = resolve(flags.corpus ?? process.env.SHOAL_CONFORMANCE_CORPUS ?? join(projectRoot, '..', 'shared', 'conformance', 'sqllogictest'));
  if (!existsSync(corpus)) {
    process.stdout.write(`sqllogictest corpus not found at ${corpus}; nothing to run (set --corpus or SHOAL_CONFORMANCE_CORPUS)\n`);
    return 0;
  }
  const files = selectFiles(corpus, flags.files ?? '');
  const showFailures = Number(flags['show-failures']);
  const floor = flags['check-floor'] ? FloorFile.parse(JSON.parse(readFileSync(flags['floor-file'] ?? '', 'utf8'))) : undefined;

  let prepare: (file: string) => Promise<Place>;
  let stop = () => Promise.resolve();
  if (flags.target === 'postgres') {
    // A reference run: durability only costs time here.
    const server = await startPostgres({ settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' } });
    stop = () => server.stop();
    // The server also gives up on a statement shortly after the runner did, so a runaway query does not keep a core busy.
    prepare = databasePerFile(server.url(), `-c statement_timeout=${RECORD_TIMEOUT_MS + 2000}`);
  } else if (flags.target === 'shoal') {
    const stack = await startShoal();
    stop = () => stack.stop();
    prepare = databasePerFile(stack.url());
  } else if (flags.target === 'url') {
    const url = flags.url ?? process.env.SHOAL_CONFORMANCE_URL;
    if (!url) throw new UsageError('--target url needs --url (or SHOAL_CONFORMANCE_URL)');
    prepare = databasePerFile(url);
  } else {
    throw new UsageError(`unknown --target ${flags.target}; use shoal, postgres or url`);
  }

  const outcomes: FileOutcome[] = [];
  try {
    for (const file of files) {
      const outcome = await runFile(file.name, parseTest(readFileSync(file.path, 'utf8'), file.name), {
        engine: ENGINE,
        prepare,
        recordTimeoutMs: RECORD_TIMEOUT_MS,
      });
      outcomes.push(outcome);
      for (const f of outcome.failures.slice(0, showFailures)) {
        process.stderr.write(`  ${file.name}:${f.line}: ${f.reason}\n    ${f.sql.replace(/\s*\n\s*/g, ' ').slice(0, 300)}\n`);
      }
      const rate = outcome.run > 0 ? (outcome.passed / outcome.run).toFixed(4) : 'n/a';
      process.stdout.write(`file=${file.name} passed=${outcome.passed} run=${outcome.run} skipped=${outcome.skipped} rate=${rate}\n`);
    }
  } finally {
    await stop();
  }
  const passed = outcomes.reduce((n, o) => n + o.passed, 0);
  const run = outcomes.reduce((n, o) => n + o.run, 0);
  // The floor is set from a printed rate, so it is compared with the printed rate.
  const rate = (run > 0 ? passed / run : 0).toFixed(4);
  process.stdout.write(`slt_pass_rate=${rate}\n`);
  if (floor && Number(rate) < floor.slt_pass_rate) {
    process.stderr.write(`pass rate ${rate} is below the floor ${floor.slt_pass_rate} in ${flags['floor-file']}\n`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`conformance: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
