import { describe, expect, it } from 'vitest';
import type { TenantInfo } from '../../shared/kv/protocol.js';
import { activeByName, planKeyspace } from './keyspace.js';

const info = (tenantId: number, name: string, state: TenantInfo['state'] = 'TENANT_STATE_ACTIVE'): TenantInfo => ({ tenantId, name, state, createdTs: null });

describe('planKeyspace', () => {
  it.each([
    ['nothing registered, no ID asked: allocate', undefined, undefined, { kind: 'create', tenantId: undefined }],
    ['nothing registered, an ID asked: create with it', 9, undefined, { kind: 'create', tenantId: 9 }],
    ['registered under this name (a crash before status was written): adopt', undefined, info(5, 'acme'), { kind: 'adopt', tenantId: 5 }],
    ['registered with the asked ID: adopt', 5, info(5, 'acme'), { kind: 'adopt', tenantId: 5 }],
  ] as const)('%s', (_name, specId, byName, plan) => {
    expect(planKeyspace('acme', specId, byName)).toEqual(plan);
  });

  it('refuses to adopt a keyspace whose ID differs from the one the spec asks for', () => {
    const plan = planKeyspace('acme', 9, info(5, 'acme'));
    expect(plan).toMatchObject({ kind: 'conflict', reason: 'TenantIdMismatch' });
    expect(plan.kind === 'conflict' && plan.message).toContain('tenant ID 5, but spec.tenantId is 9');
  });
});

describe('activeByName', () => {
  it('ignores dropped keyspaces and other names', () => {
    const all = [info(2, 'acme', 'TENANT_STATE_DROPPED'), info(3, 'globex'), info(4, 'acme')];
    expect(activeByName(all, 'acme')?.tenantId).toBe(4);
    expect(activeByName([info(2, 'acme', 'TENANT_STATE_DROPPED')], 'acme')).toBeUndefined();
  });
});
