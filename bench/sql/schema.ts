// The bench's table, loaded the portable way: plain multi-row INSERTs through
// node-postgres (a target may have neither COPY nor generate_series).
import pg from 'pg';

export const ACCOUNT_ROWS = 100_000;
const BATCH_ROWS = 500;
// pgbench's own accounts rows carry 84 characters of filler.
const FILLER = 'x'.repeat(84);

export const POINT_SELECT_SCRIPT = `\\set id random(1, ${ACCOUNT_ROWS})
SELECT balance FROM accounts WHERE id = :id;
`;

export const UPDATE_SCRIPT = `\\set id random(1, ${ACCOUNT_ROWS})
\\set delta random(-5000, 5000)
UPDATE accounts SET balance = balance + :delta WHERE id = :id;
`;

/** (Re)creates `accounts` with ids 1..rows, balance 0. */
export async function loadAccounts(url: string, rows = ACCOUNT_ROWS): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('DROP TABLE IF EXISTS accounts');
    await client.query('CREATE TABLE accounts (id integer PRIMARY KEY, balance integer NOT NULL, filler text)');
    for (let first = 1; first <= rows; first += BATCH_ROWS) {
      const values: string[] = [];
      for (let id = first; id < first + BATCH_ROWS && id <= rows; id++) values.push(`(${id}, 0, '${FILLER}')`);
      await client.query(`INSERT INTO accounts (id, balance, filler) VALUES ${values.join(', ')}`);
    }
    const { rows: count } = await client.query<{ n: string }>('SELECT count(*) AS n FROM accounts');
    if (Number(count[0]?.n) !== rows) throw new Error(`loaded ${count[0]?.n} accounts, expected ${rows}`);
  } finally {
    await client.end();
  }
}
