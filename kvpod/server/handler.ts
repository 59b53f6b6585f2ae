// The one place where a gRPC call becomes a typed request and a thrown
// KvError becomes a gRPC status: identity first, then the handler; every
// outcome counted, every refusal logged.
import type { sendUnaryData, ServerUnaryCall, UntypedHandleCall } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { KvError } from '../../shared/kv/errors.js';
import { describeIdentity, identityOf, type Identity } from '../tenancy/identity.js';
import type { KvMetrics } from './metrics.js';

export interface HandlerDeps {
  metrics: KvMetrics;
  log: Logger;
  /** Refuses calls while the node is stopping. */
  admitting: () => boolean;
}

const REFUSAL_LEVEL: Partial<Record<KvError['code'], 'warn' | 'info'>> = {
  OUTSIDE_TENANT: 'warn',
  NOT_OPERATOR: 'warn',
  UNAUTHENTICATED: 'warn',
  UNKNOWN_TENANT: 'warn',
};

export function unary<Res>(
  deps: HandlerDeps,
  method: string,
  handle: (identity: Identity, request: unknown) => Promise<Res>,
): UntypedHandleCall {
  return (call: ServerUnaryCall<unknown, Res>, callback: sendUnaryData<Res>) => {
    const stopTimer = deps.metrics.requestDuration.startTimer({ method });
    let tenant = 'unauthenticated';
    const run = async (): Promise<Res> => {
      if (!deps.admitting()) throw new KvError('SHUTTING_DOWN', 'kvpod is shutting down; retry on another kvpod');
      const identity = identityOf(call.getAuthContext()?.sslPeerCertificate);
      tenant = identity.kind === 'tenant' ? String(identity.tenantId) : identity.kind;
      return handle(identity, call.request);
    };
    run().then(
      (response) => {
        deps.metrics.requests.inc({ tenant, method, code: 'OK' });
        stopTimer();
        callback(null, response);
      },
      (err: unknown) => {
        const error = err instanceof KvError ? err : internal(err, deps.log, method);
        deps.metrics.requests.inc({ tenant, method, code: error.code });
        stopTimer();
        const level = REFUSAL_LEVEL[error.code];
        if (level) {
          deps.metrics.denied.inc({ reason: error.code });
          deps.log[level]({ tenant, method, code: error.code, peer: call.getPeer() }, error.message);
        }
        callback(error.toServiceError(), null);
      },
    );
  };
}

function internal(err: unknown, log: Logger, method: string): KvError {
  log.error({ err, method }, 'internal error');
  return new KvError('INTERNAL', `internal error: ${err instanceof Error ? err.message : String(err)}`);
}

export function requireTenant(identity: Identity): number {
  if (identity.kind !== 'tenant') {
    throw new KvError('OUTSIDE_TENANT', `${describeIdentity(identity)} certificates cannot read or write tenant data`);
  }
  return identity.tenantId;
}

export function requireOperator(identity: Identity): void {
  if (identity.kind !== 'operator') {
    throw new KvError('NOT_OPERATOR', `only the operator may manage tenant keyspaces; caller is ${describeIdentity(identity)}`);
  }
}
