// The Admin service: tenant keyspaces, for the operator's identity only.
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type {
  CreateTenantResponse,
  DestroyTenantResponse,
  ListTenantsResponse,
  TenantInfo,
} from '../../shared/kv/protocol.js';
import type { TenantRecord, TenantRegistry } from '../tenancy/registry.js';
import { requireOperator, unary, type HandlerDeps } from './handler.js';
import type { RequestValidator } from './requests.js';

export interface AdminServiceDeps extends HandlerDeps {
  registry: TenantRegistry;
  validator: RequestValidator;
  /** Called after every change, e.g. to refresh gauges. */
  onChange: () => void;
}

function toInfo(record: TenantRecord): TenantInfo {
  return {
    tenantId: record.tenantId,
    name: record.name,
    state: record.state === 'active' ? 'TENANT_STATE_ACTIVE' : 'TENANT_STATE_DROPPED',
    createdTs: record.createdTs,
  };
}

export function adminServiceImplementation(deps: AdminServiceDeps): UntypedServiceImplementation {
  const { registry, validator, log } = deps;
  return {
    CreateTenant: unary(deps, 'CreateTenant', async (identity, request): Promise<CreateTenantResponse> => {
      requireOperator(identity);
      const req = validator.createTenant(request);
      const record = await registry.create(req.name, req.tenantId);
      log.info({ tenant: record.tenantId, name: record.name }, 'tenant keyspace created');
      deps.onChange();
      return { tenant: toInfo(record) };
    }),
    DestroyTenant: unary(deps, 'DestroyTenant', async (identity, request): Promise<DestroyTenantResponse> => {
      requireOperator(identity);
      const req = validator.destroyTenant(request);
      const record = await registry.destroy(req.tenantId);
      log.info({ tenant: record.tenantId, name: record.name }, 'tenant keyspace destroyed');
      deps.onChange();
      return { tenant: toInfo(record) };
    }),
    ListTenants: unary(deps, 'ListTenants', (identity): Promise<ListTenantsResponse> => {
      requireOperator(identity);
      return Promise.resolve({ tenants: registry.list().map(toInfo) });
    }),
  };
}
