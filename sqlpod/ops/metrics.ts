// The pod's Prometheus metrics (prom-client), one registry per pod.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export class PodMetrics {
  readonly registry = new Registry();
  readonly sessions = new Gauge({ name: 'shoal_sqlpod_sessions', help: 'Open SQL sessions', registers: [this.registry] });
  readonly statements = new Counter({ name: 'shoal_sqlpod_statements_total', help: 'Statements started, by command', labelNames: ['command'], registers: [this.registry] });
  readonly errors = new Counter({ name: 'shoal_sqlpod_errors_total', help: 'Errors sent to clients, by SQLSTATE', labelNames: ['sqlstate'], registers: [this.registry] });
  readonly kvRowsRead = new Counter({ name: 'shoal_sqlpod_kv_rows_read_total', help: 'Key-value pairs read from kvpod', registers: [this.registry] });
  readonly kvRoundTrips = new Counter({ name: 'shoal_sqlpod_kv_round_trips_total', help: 'Round trips to kvpod', registers: [this.registry] });
  readonly statementRestarts = new Counter({
    name: 'shoal_sqlpod_statement_restarts_total',
    help: 'Statements run again on a newer snapshot after another transaction of the pod committed a row they locked',
    registers: [this.registry],
  });
  readonly refused = new Counter({ name: 'shoal_sqlpod_connections_refused_total', help: 'Connections refused before a session, by reason', labelNames: ['reason'], registers: [this.registry] });
  readonly state = new Gauge({ name: 'shoal_sqlpod_state', help: 'Lifecycle state (1 for the current one)', labelNames: ['state'], registers: [this.registry] });
  readonly sqlMemoryLimit = new Gauge({ name: 'shoal_sqlpod_sql_memory_limit_bytes', help: 'Memory all statements may hold together (--max-sql-memory)', registers: [this.registry] });
  readonly sqlMemoryReserved: Gauge = new Gauge({
    name: 'shoal_sqlpod_sql_memory_reserved_bytes',
    help: 'Memory statements hold now (sorts, hash tables, groups), as estimated',
    registers: [this.registry],
    collect: () => this.sqlMemoryReserved.set(this.memoryPool?.reserved ?? 0),
  });
  /** The pool the reserved gauge reads, once the pod has one. */
  memoryPool: { readonly reserved: number } | null = null;

  constructor() {
    // Includes process_cpu_seconds_total, which the autoscaler's long view can use.
    collectDefaultMetrics({ register: this.registry });
  }

  setState(phase: string): void {
    for (const p of ['unbound', 'running', 'draining', 'exited']) this.state.set({ state: p }, p === phase ? 1 : 0);
  }
}
