// The operator's Prometheus metrics, fed by hooks of the queue, the
// reconcilers and the pod converger.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { WorkQueueHooks } from '../../shared/workqueue/index.js';
import type { PodConvergerHooks } from '../pods/converge.js';

export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconciles = new Counter({ name: 'shoal_operator_reconcile_total', help: 'Tenant reconciles, by result (ok, error, requeue)', labelNames: ['result'], registers: [this.registry] });
  readonly reconcileErrors = new Counter({ name: 'shoal_operator_reconcile_errors_total', help: 'Tenant reconciles that failed and were retried with back-off', registers: [this.registry] });
  readonly reconcileSeconds = new Histogram({ name: 'shoal_operator_reconcile_duration_seconds', help: 'Time of one tenant reconcile', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10], registers: [this.registry] });
  readonly queueDepth = new Gauge({ name: 'shoal_operator_queue_depth', help: 'Tenant keys waiting to be reconciled', registers: [this.registry] });
  readonly poolReady = new Gauge({ name: 'shoal_operator_pool_ready_pods', help: 'Ready, unbound SQL pods in the prewarmed pool', registers: [this.registry] });
  readonly plucks = new Counter({ name: 'shoal_operator_plucks_total', help: 'Pool pods plucked for a tenant', registers: [this.registry] });
  readonly stamps = new Counter({ name: 'shoal_operator_stamps_total', help: 'Stamps, by result', labelNames: ['result'], registers: [this.registry] });
  readonly stampSeconds = new Histogram({ name: 'shoal_operator_stamp_seconds', help: 'Time of a stamp call, until the pod serves SQL', buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [this.registry] });
  readonly drains = new Counter({ name: 'shoal_operator_drains_total', help: 'SQL pods told to drain', registers: [this.registry] });
  readonly resumeSeconds = new Histogram({ name: 'shoal_operator_resume_seconds', help: 'A suspended tenant asking for pods → its first pod running', buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [this.registry] });
  readonly scaleDecisions = new Counter({ name: 'shoal_operator_scale_decisions_total', help: 'Autoscaler decisions, by the rule that decided (scale-up, scale-down, idle, steady, …)', labelNames: ['rule'], registers: [this.registry] });
  readonly leader = new Gauge({ name: 'shoal_operator_leader', help: '1 while this replica holds the leader Lease', registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  queueHooks(): WorkQueueHooks {
    return {
      onDepthChange: (depth) => this.queueDepth.set(depth),
      onHandled: (_key, ms, outcome) => {
        this.reconciles.inc({ result: outcome });
        if (outcome === 'error') this.reconcileErrors.inc();
        this.reconcileSeconds.observe(ms / 1000);
      },
    };
  }

  podHooks(): PodConvergerHooks {
    return {
      onPluck: () => this.plucks.inc(),
      onStamp: (ok, ms) => {
        this.stamps.inc({ result: ok ? 'ok' : 'failed' });
        if (ok) this.stampSeconds.observe(ms / 1000);
      },
      onDrain: () => this.drains.inc(),
      onResume: (ms) => this.resumeSeconds.observe(ms / 1000),
      onPoolReady: (n) => this.poolReady.set(n),
    };
  }
}
