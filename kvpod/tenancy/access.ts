// Tenant isolation: every key and span of a tenant's request must lie inside
// that tenant's prefix. Checked before anything is read or written.
import { KvError } from '../../shared/kv/errors.js';
import { formatKey, spanContains, spanContainsKey, tenantSpan, type Span } from '../../shared/keys/index.js';

export class TenantAccess {
  readonly span: Span;

  constructor(readonly tenantId: number) {
    this.span = tenantSpan(tenantId);
  }

  checkKey(key: Buffer): void {
    if (!spanContainsKey(this.span, key)) {
      throw new KvError('OUTSIDE_TENANT', `key ${formatKey(key)} is outside the keyspace of tenant ${this.tenantId}`);
    }
  }

  checkSpan(span: Span): void {
    if (!spanContains(this.span, span)) {
      throw new KvError(
        'OUTSIDE_TENANT',
        `span [${formatKey(span.startKey)}, ${formatKey(span.endKey)}) is outside the keyspace of tenant ${this.tenantId}`,
      );
    }
  }
}
