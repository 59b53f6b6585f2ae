// One tenant's SQL engine in a bound pod: bootstraps the tenant's catalog on
// first use, keeps the catalog cache, hands out sessions, and draws sequence
// values and row ids.
import { randomInt } from 'node:crypto';
import { runTransaction, type KvClient } from '../../shared/kv/client/index.js';
import { hashPassword, verifyPassword } from '../../shared/pgwire/index.js';
import type { Catalog } from './catalog/catalog.js';
import type { RoleDescriptor, SequenceDescriptor } from './catalog/descriptors.js';
import { Keyspace, decodeCounter, encodeCounter } from './catalog/keyspace.js';
import { CatalogWriter, loadCatalog, readCatalogVersion } from './catalog/store.js';
import { SQLSTATE, SqlError } from './errors.js';
import { AdvisoryLocks, type AdvisoryLockOptions } from './locks/index.js';
import { MiB, type MemoryLimits } from './exec/memory.js';
import { loadParser } from './parser/index.js';
import { RowLockTable } from './row-locks/index.js';
import { nextSequenceValues } from './sequences.js';
import { sequenceBounds } from './catalog/system/relations.js';
import type { LoginRole, SessionOptions, SqlEngine, SqlSession } from './session-api.js';
import { Session, type EngineServices } from './session.js';
import { defaultReportedParameters } from './settings.js';
import { sqlErrorOf, type CatalogCache, type TxnHooks } from './txn.js';

export interface EngineOptions {
  readonly kv: KvClient;
  readonly tenantId: number;
  /** The tenant's first administrator, created if the tenant has no such role yet. */
  readonly admin?: { readonly user: string; readonly password: string };
  readonly hooks?: TxnHooks;
  /** Lease and renewal period of advisory locks (./locks). */
  readonly advisoryLocks?: AdvisoryLockOptions;
  /** Default: 64 MiB per statement, no pod-wide pool. */
  readonly memory?: MemoryLimits;
}

/** Databases every tenant starts with (CockroachDB's defaultdb, and postgres for tools that expect it). */
const INITIAL_DATABASES = ['defaultdb', 'postgres'];

export class TenantEngine implements SqlEngine, EngineServices {
  readonly ks: Keyspace;
  readonly kv: KvClient;
  readonly hooks: TxnHooks;
  readonly advisoryLocks: AdvisoryLocks;
  readonly rowLocks = new RowLockTable();
  readonly memory: MemoryLimits;
  private rowIdMillis = 0;
  private rowIdCounter = 0;
  /** Random per process, so that two pods' row ids do not collide (see uniqueRowId). */
  private readonly podBits = BigInt(randomInt(0, 1 << 14));

  private constructor(
    options: EngineOptions,
    readonly catalogs: CatalogCache,
  ) {
    this.kv = options.kv;
    this.ks = new Keyspace(options.tenantId);
    this.hooks = options.hooks ?? {};
    this.advisoryLocks = new AdvisoryLocks(options.kv, this.ks, options.advisoryLocks);
    this.memory = options.memory ?? { perQuery: 64 * MiB, pool: null };
  }

  static async start(options: EngineOptions): Promise<TenantEngine> {
    await loadParser();
    const ks = new Keyspace(options.tenantId);
    const catalog = await bootstrap(options.kv, ks, options.admin);
    return new TenantEngine(options, { current: catalog });
  }

  /** After the last session closed: stops renewing advisory lock leases. */
  close(): void {
    this.advisoryLocks.stop();
  }

  async findRole(name: string): Promise<LoginRole | null> {
    await this.refreshCatalog();
    const role = this.catalogs.current.role(name);
    return role ? { name: role.name, scramVerifier: role.scramVerifier, canLogin: role.canLogin } : null;
  }

  async openSession(options: SessionOptions): Promise<SqlSession> {
    let catalog = this.catalogs.current;
    let db = catalog.database(options.database);
    if (!db) {
      catalog = await this.refreshCatalog();
      db = catalog.database(options.database);
    }
    if (!db) throw new SqlError(SQLSTATE.INVALID_CATALOG_NAME, `database "${options.database}" does not exist`, { severity: 'FATAL' });
    const role = catalog.role(options.user);
    const session = new Session(this, options.user, { id: db.id, name: db.name }, role?.superuser ?? false);
    for (const [name, value] of options.parameters) {
      if (['application_name', 'timezone', 'search_path', 'datestyle', 'extra_float_digits', 'client_encoding'].includes(name.toLowerCase())) {
        session.settings.set(name, value);
      }
    }
    session.settings.takeChanged();
    return session;
  }

  initialParameters(): ReadonlyMap<string, string> {
    return defaultReportedParameters();
  }

  /** Reads the catalog version and reloads the catalog if another pod changed it. */
  async refreshCatalog(): Promise<Catalog> {
    try {
      const { result } = await runTransaction(this.kv, async (txn) => {
        const version = await readCatalogVersion(txn, this.ks);
        return version === this.catalogs.current.version ? this.catalogs.current : loadCatalog(txn, this.ks);
      });
      if (result.version > this.catalogs.current.version) this.catalogs.current = result;
      return this.catalogs.current;
    } catch (err) {
      throw sqlErrorOf(err);
    }
  }

  /** Sequence values outside the SQL transaction, as in PostgreSQL: a rolled-back transaction leaves a gap. */
  /**
   * The next `count` values of a sequence, in one KV transaction; past its
   * MAXVALUE (MINVALUE going down) it starts over if it CYCLEs, else 2200H.
   */
  async reserveSequence(sequence: SequenceDescriptor, count: number): Promise<bigint[]> {
    const limits = sequenceBounds(this.catalogs.current, sequence);
    const key = this.ks.sequenceKey(sequence.id);
    try {
      const { result } = await runTransaction(this.kv, async (txn) => {
        const raw = await txn.get(key);
        const values = nextSequenceValues(raw === null ? null : decodeCounter(raw), sequence, limits, count);
        const last = values.at(-1);
        if (last !== undefined) txn.put(key, encodeCounter(last));
        return values;
      });
      return result;
    } catch (err) {
      throw sqlErrorOf(err);
    }
  }

  /** setval: the sequence's stored value, so that the next nextval gives `value` + increment (or `value` itself if not `isCalled`). */
  async setSequence(sequence: SequenceDescriptor, value: bigint, isCalled: boolean): Promise<void> {
    const stored = isCalled ? value : value - BigInt(sequence.increment);
    try {
      await runTransaction(this.kv, (txn) => {
        txn.put(this.ks.sequenceKey(sequence.id), encodeCounter(stored));
        return Promise.resolve();
      });
    } catch (err) {
      throw sqlErrorOf(err);
    }
  }

  /**
   * A unique row id without I/O: milliseconds since 2024, 14 random bits of
   * this process, and a counter for rows within one millisecond (like
   * CockroachDB's unique_rowid, which uses the node id instead).
   */
  uniqueRowId(): bigint {
    let now = Date.now() - Date.UTC(2024, 0, 1);
    if (now <= this.rowIdMillis) {
      this.rowIdCounter++;
      if (this.rowIdCounter >= 256) {
        this.rowIdMillis++;
        this.rowIdCounter = 0;
      }
      now = this.rowIdMillis;
    } else {
      this.rowIdMillis = now;
      this.rowIdCounter = 0;
    }
    return (BigInt(now) << 22n) | (this.podBits << 8n) | BigInt(this.rowIdCounter);
  }
}

/**
 * Creates the tenant's catalog if it has none, and the admin role if it is
 * missing or has another password; returns the catalog.
 */
async function bootstrap(kv: KvClient, ks: Keyspace, admin: EngineOptions['admin']): Promise<Catalog> {
  try {
    const { result } = await runTransaction(kv, async (txn) => {
      const loaded = await loadCatalog(txn, ks);
      const catalog = loaded.version > 0n ? loaded : null;
      const present = admin === undefined ? undefined : catalog?.role(admin.user);
      // The stamp's admin password (the operator's Secret) is the one that counts: a
      // tenant re-created over a retained keyspace comes with a new Secret.
      const needsAdmin = admin !== undefined && (present === undefined || !verifyPassword(present.scramVerifier ?? '', admin.password));
      if (catalog && !needsAdmin) return catalog;
      const writer = new CatalogWriter(txn, ks, loaded.version);
      if (!catalog) {
        for (const name of INITIAL_DATABASES) {
          const dbId = await writer.allocateId();
          writer.putDescriptor({ kind: 'database', id: dbId, name });
          writer.putDescriptor({ kind: 'schema', id: await writer.allocateId(), name: 'public', databaseId: dbId });
        }
      }
      if (admin && needsAdmin) {
        const role: RoleDescriptor = { name: admin.user, scramVerifier: hashPassword(admin.password), canLogin: true, superuser: true };
        writer.putRole(role);
      }
      return null;
    });
    if (result) return result;
    const { result: loaded } = await runTransaction(kv, (txn) => loadCatalog(txn, ks));
    return loaded;
  } catch (err) {
    throw sqlErrorOf(err);
  }
}
