// The proxy's Prometheus metrics and the hooks that feed them.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ForwarderHooks } from '../forwarder/index.js';

export class ProxyMetrics {
  readonly registry = new Registry();
  readonly open = new Gauge({ name: 'shoal_proxy_connections', help: 'Open client connections', registers: [this.registry] });
  readonly accepted = new Counter({ name: 'shoal_proxy_connections_accepted_total', help: 'Client connections accepted', registers: [this.registry] });
  readonly failures = new Counter({ name: 'shoal_proxy_connection_failures_total', help: 'Connections that did not become sessions, by reason', labelNames: ['reason'], registers: [this.registry] });
  readonly routed = new Counter({ name: 'shoal_proxy_routed_total', help: 'Connections routed, by how the tenant was identified', labelNames: ['method'], registers: [this.registry] });
  readonly dial = new Histogram({ name: 'shoal_proxy_dial_seconds', help: 'Time to connect to a SQL pod (TCP + TLS)', buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [this.registry] });
  readonly resume = new Histogram({ name: 'shoal_proxy_resume_seconds', help: 'Time a client waited for a suspended tenant', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  hooks(): ForwarderHooks & { onAccepted: () => void; onClosed: () => void } {
    return {
      onAccepted: () => {
        this.accepted.inc();
        this.open.inc();
      },
      onClosed: () => this.open.dec(),
      onRouted: (_tenant, method) => this.routed.inc({ method }),
      onFailure: (reason) => this.failures.inc({ reason }),
      onDial: (ms) => this.dial.observe(ms / 1000),
      onResume: (ms) => this.resume.observe(ms / 1000),
    };
  }
}
