// Kubernetes Events for the operator's decisions, aggregated like client-go's
// recorder: the same reason and message about the same object within ten
// minutes bumps the count of one Event instead of creating another, so a
// reconcile retried with back-off does not flood `kubectl describe`.
import { randomBytes } from 'node:crypto';
import type { KubeApi } from '../../shared/kube/api.js';
import type { Logger } from '../../shared/log/index.js';

export interface EventSubject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly uid?: string; readonly resourceVersion?: string };
}

export type EventType = 'Normal' | 'Warning';

const AGGREGATE_MS = 10 * 60_000;
const REMEMBERED = 4096;

export class EventRecorder {
  /** Per reason and message: the Event to bump, and the write in flight (writes of one key go in order, so a burst makes one Event). */
  private readonly recent = new Map<string, { name: string; namespace: string; count: number; at: number; last: Promise<void> }>();

  constructor(
    private readonly api: KubeApi,
    private readonly component: string,
    private readonly instance: string,
    private readonly log: Logger,
  ) {}

  /** Fire and forget: an Event that cannot be written is logged, never a reconcile failure. */
  record(subject: EventSubject, type: EventType, reason: string, message: string): void {
    const namespace = subject.metadata.namespace ?? 'default';
    const key = `${subject.metadata.uid ?? `${namespace}/${subject.metadata.name}`}\u0000${type}\u0000${reason}\u0000${message}`;
    const now = new Date();
    const seen = this.recent.get(key);
    const report = (err: unknown) => this.log.warn({ err, reason, object: subject.metadata.name }, 'could not record an event');
    if (seen && now.getTime() - seen.at < AGGREGATE_MS) {
      const count = ++seen.count;
      seen.at = now.getTime();
      const path = `/api/v1/namespaces/${encodeURIComponent(seen.namespace)}/events/${encodeURIComponent(seen.name)}`;
      seen.last = seen.last.then(() => this.api.patch(path, { count, lastTimestamp: now.toISOString() }, 'application/merge-patch+json')).then(() => undefined, report);
      return;
    }
    const name = `${subject.metadata.name}.${now.getTime().toString(16)}${randomBytes(3).toString('hex')}`;
    const created = this.api
      .create(`/api/v1/namespaces/${encodeURIComponent(namespace)}/events`, {
        metadata: { name, namespace },
        involvedObject: { apiVersion: subject.apiVersion, kind: subject.kind, name: subject.metadata.name, namespace, uid: subject.metadata.uid, resourceVersion: subject.metadata.resourceVersion },
        type,
        reason,
        message,
        source: { component: this.component },
        reportingComponent: this.component,
        reportingInstance: this.instance,
        firstTimestamp: now.toISOString(),
        lastTimestamp: now.toISOString(),
        count: 1,
      })
      .then(() => undefined, report);
    if (this.recent.size >= REMEMBERED) this.recent.delete(this.recent.keys().next().value ?? '');
    this.recent.set(key, { name, namespace, count: 1, at: now.getTime(), last: created });
  }
}
