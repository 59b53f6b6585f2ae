// ALTER TABLE … ADD CHECK / FOREIGN KEY … NOT VALID and VALIDATE CONSTRAINT
// against a real PostgreSQL (what strong_migrations, Rails and Django emit):
// new rows are checked at once, existing ones only at VALIDATE, and
// pg_constraint.convalidated and pg_get_constraintdef show which is which.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sameOnBoth, type Outcome, startBesidePostgres, type BesidePostgres } from './testing/beside-postgres.js';

let side: BesidePostgres;

beforeAll(async () => {
  side = await startBesidePostgres('notvalid', {
    setup: [
      'CREATE TABLE parent (id int PRIMARY KEY)',
      'INSERT INTO parent VALUES (1), (2)',
      'CREATE TABLE child (id int PRIMARY KEY, parent_id int, n int)',
      'INSERT INTO child VALUES (1, 1, 5), (2, 3, -1), (3, NULL, 0)',
    ],
  });
}, 120_000);

afterAll(async () => {
  await side?.stop();
});

const script = (statements: readonly string[]): Promise<Outcome[]> => sameOnBoth(side, statements);

const constraints = "SELECT conname, contype, convalidated, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'child'::regclass ORDER BY conname";

describe('NOT VALID constraints', () => {
  it('adds a CHECK: checked against existing rows unless NOT VALID; VALIDATE checks them later', async () => {
    const out = await script([
      'ALTER TABLE child ADD CONSTRAINT n_positive CHECK (n >= 0)',
      'ALTER TABLE child ADD CONSTRAINT n_positive CHECK (n >= 0) NOT VALID',
      constraints,
      'INSERT INTO child VALUES (10, 1, -5)',
      'UPDATE child SET n = -2 WHERE id = 1',
      'INSERT INTO child VALUES (10, 1, 7)',
      'ALTER TABLE child VALIDATE CONSTRAINT n_positive',
      'UPDATE child SET n = 1 WHERE id = 2',
      'ALTER TABLE child VALIDATE CONSTRAINT n_positive',
      'ALTER TABLE child VALIDATE CONSTRAINT n_positive',
      constraints,
      'ALTER TABLE child ADD CHECK (n < 100)',
      'ALTER TABLE child ADD CHECK (n < 100 AND id > 0) NOT VALID',
      'ALTER TABLE child ADD CHECK (n < 1000)',
      constraints,
      'ALTER TABLE child VALIDATE CONSTRAINT nope',
      'ALTER TABLE child VALIDATE CONSTRAINT child_pkey',
    ]);
    expect(out[0]).toEqual({ code: '23514' });
    expect(out[3]).toEqual({ code: '23514' });
  });

  it('adds a FOREIGN KEY NOT VALID: new rows must reference, old ones only at VALIDATE', async () => {
    const out = await script([
      'ALTER TABLE child ADD CONSTRAINT child_parent FOREIGN KEY (parent_id) REFERENCES parent (id)',
      'ALTER TABLE child ADD CONSTRAINT child_parent FOREIGN KEY (parent_id) REFERENCES parent (id) NOT VALID',
      constraints,
      'INSERT INTO child VALUES (20, 9, 1)',
      'INSERT INTO child VALUES (20, 2, 1)',
      'ALTER TABLE child VALIDATE CONSTRAINT child_parent',
      'BEGIN',
      'INSERT INTO parent VALUES (3)',
      'ALTER TABLE child VALIDATE CONSTRAINT child_parent',
      constraints,
      'ROLLBACK',
      constraints,
      'INSERT INTO parent VALUES (3)',
      'ALTER TABLE child VALIDATE CONSTRAINT child_parent',
      constraints,
      'DELETE FROM parent WHERE id = 3',
    ]);
    expect(out[0]).toEqual({ code: '23503' });
    expect(out[5]).toEqual({ code: '23503' });
  });
});
