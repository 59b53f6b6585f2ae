import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** kvpod's Prometheus metrics, in their own registry (tests run several kvpods per process). */
export class KvMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'shoal_kv_requests_total',
    help: 'KV requests by tenant, method and result code',
    labelNames: ['tenant', 'method', 'code'] as const,
    registers: [this.registry],
  });
  readonly requestDuration = new Histogram({
    name: 'shoal_kv_request_duration_seconds',
    help: 'KV request latency by method',
    labelNames: ['method'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly keysRead = new Counter({ name: 'shoal_kv_keys_read_total', help: 'Keys returned to the tenant', labelNames: ['tenant'] as const, registers: [this.registry] });
  readonly bytesRead = new Counter({ name: 'shoal_kv_bytes_read_total', help: 'Key and value bytes returned to the tenant', labelNames: ['tenant'] as const, registers: [this.registry] });
  readonly keysWritten = new Counter({ name: 'shoal_kv_keys_written_total', help: 'Mutations committed by the tenant', labelNames: ['tenant'] as const, registers: [this.registry] });
  readonly bytesWritten = new Counter({ name: 'shoal_kv_bytes_written_total', help: 'Key and value bytes committed by the tenant', labelNames: ['tenant'] as const, registers: [this.registry] });
  readonly conflicts = new Counter({ name: 'shoal_kv_conflicts_total', help: 'Commits refused by conflict validation', labelNames: ['tenant'] as const, registers: [this.registry] });
  readonly denied = new Counter({ name: 'shoal_kv_denied_total', help: 'Requests refused for identity or isolation reasons', labelNames: ['reason'] as const, registers: [this.registry] });
  readonly commitBatchSize = new Histogram({
    name: 'shoal_kv_commit_batch_commits',
    help: 'Commits folded into one synced write',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [this.registry],
  });
  readonly commitBatchDuration = new Histogram({
    name: 'shoal_kv_commit_batch_duration_seconds',
    help: 'Validation plus synced write of one commit batch',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    registers: [this.registry],
  });
  readonly gcVersionsRemoved = new Counter({ name: 'shoal_kv_gc_versions_removed_total', help: 'MVCC versions removed by garbage collection', registers: [this.registry] });
  readonly gcThreshold = new Gauge({ name: 'shoal_kv_gc_threshold_seconds', help: 'Reads below this time fail', registers: [this.registry] });
  readonly tenants = new Gauge({ name: 'shoal_kv_tenants', help: 'Tenant keyspaces by state', labelNames: ['state'] as const, registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
