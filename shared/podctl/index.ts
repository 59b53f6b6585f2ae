// The operator's side of a SQL pod's endpoints (design brief, "Life of a SQL
// pod"): stamp, drain and undrain over mutual TLS with the operator
// certificate, and the pod's /load over plain HTTP. Shared by the Kubernetes
// operator and the demo's local orchestrator; only who calls differs.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { subjectOf } from '../certs/index.js';
import { splitHostPort } from '../config/index.js';

const POOL_CERT_CN = subjectOf({ kind: 'pool-server' }).commonName;

/** The pod's answer when it was not a success: its error code, or ours for transport trouble. */
export type PodControlErrorCode = 'UNREACHABLE' | 'TIMEOUT' | 'BAD_ANSWER' | (string & {});

export class PodControlError extends Error {
  override readonly name = 'PodControlError';
  constructor(
    readonly code: PodControlErrorCode,
    /** HTTP status, 0 when there was no answer. */
    readonly status: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const errorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
const stampAnswer = z.object({ state: z.literal('running'), tenantId: z.number(), tenantName: z.string() });
const stateAnswer = z.object({ state: z.unknown() });
const readyAnswer = z.object({ ready: z.literal(true) });

export const podLoadSchema = z.object({
  state: z.enum(['unbound', 'running', 'draining', 'exited']),
  tenantId: z.number().nullable(),
  tenantName: z.string().nullable(),
  sessions: z.number().int().min(0),
  cpuCores: z.number().min(0),
  windowMs: z.number().min(0),
});
export type PodLoad = z.infer<typeof podLoadSchema>;

export interface OperatorIdentity {
  /** Host CA (PEM) the pod's control certificate must chain to. */
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export interface PodControlOptions {
  /** Gives up on a pod that does not answer (default 5 s). */
  readonly timeoutMs?: number;
  /**
   * Keeps the TLS connection open between calls, so that connect() can pay the
   * handshake while the pod waits in the pool instead of during a resume.
   */
  readonly keepAlive?: boolean;
}

/**
 * How long an idle kept-alive connection stays open. Below the stamping
 * endpoint's own idle limit (STAMPING_IDLE_MS in sqlpod/lifecycle), so the
 * pod never closes a connection this side is about to reuse.
 */
export const CONTROL_IDLE_MS = 4 * 60_000;

const UNREACHABLE_ATTEMPTS = 3;

/** One SQL pod's control endpoint (host:port), called as the operator. */
export class PodControl {
  private readonly timeoutMs: number;
  private readonly agent: Agent | false;

  constructor(
    readonly address: string,
    private readonly identity: OperatorIdentity,
    options: PodControlOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.agent = options.keepAlive ? new Agent({ keepAlive: true, maxSockets: 1, timeout: CONTROL_IDLE_MS }) : false;
  }

  /**
   * Checks that an unbound pod is ready to be stamped; with keepAlive, the
   * connection it opened stays for the stamp (a resume then skips the TLS handshake).
   */
  async connect(): Promise<void> {
    parseAnswer(readyAnswer, await this.idempotent('GET', '/readyz'), 'readyz');
  }

  /** Closes a kept-alive connection. */
  close(): void {
    if (this.agent) this.agent.destroy();
  }

  /** Binds an unbound pod; the body is a stamp (sqlpod/lifecycle/stamp.ts). Resolves once the pod serves SQL. */
  async stamp(stamp: unknown): Promise<{ tenantId: number; tenantName: string }> {
    const { tenantId, tenantName } = parseAnswer(stampAnswer, await this.call('POST', '/stamp', stamp), 'stamp');
    return { tenantId, tenantName };
  }

  /** Stops new sessions; the pod exits when the last one closes, or at the limit. */
  async drain(limitMs?: number): Promise<void> {
    const query = limitMs === undefined ? '' : `?limitMs=${Math.max(0, Math.round(limitMs))}`;
    parseAnswer(stateAnswer, await this.idempotent('POST', `/drain${query}`), 'drain');
  }

  async undrain(): Promise<void> {
    parseAnswer(stateAnswer, await this.idempotent('POST', '/undrain'), 'undrain');
  }

  /**
   * A call that may be repeated, retried while the pod is unreachable for a
   * moment: right after a stamp the pod closes its stamping endpoint and opens
   * its control endpoint on the same port, and a call in between is refused
   * or reset. Stamps are never repeated (a second one is refused as ALREADY_STAMPED).
   */
  private async idempotent(method: string, path: string): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.call(method, path);
      } catch (err) {
        if (!(err instanceof PodControlError && err.code === 'UNREACHABLE') || attempt >= UNREACHABLE_ATTEMPTS) throw err;
        await sleep(50 * attempt);
      }
    }
  }

  private call(method: string, path: string, payload?: unknown): Promise<unknown> {
    const { host, port } = splitHostPort(this.address);
    const body = payload === undefined ? undefined : Buffer.from(JSON.stringify(payload));
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          host,
          port,
          method,
          path,
          ca: this.identity.caPem,
          cert: this.identity.certPem,
          key: this.identity.keyPem,
          // A pod's address is whatever IP it got, so its control certificate is
          // checked for what it is (a pool pod's, from the host CA), not for a host name.
          checkServerIdentity: (_host, cert) =>
            cert.subject?.CN === POOL_CERT_CN ? undefined : new Error(`pod ${this.address} presented "${String(cert.subject?.CN)}", not a SQL pod control certificate`),
          headers: body ? { 'content-type': 'application/json', 'content-length': body.length } : {},
          // The stamping endpoint closes after its answer: nothing to keep alive.
          agent: this.agent,
          timeout: this.timeoutMs,
        },
        (res) => {
          readJson(res, (status, parsed) => {
            if (status >= 200 && status < 300) return resolve(parsed);
            const err = errorBody.safeParse(parsed);
            reject(
              err.success
                ? new PodControlError(err.data.error.code, status, `${method} ${path} on pod ${this.address}: ${err.data.error.message}`)
                : new PodControlError('BAD_ANSWER', status, `${method} ${path} on pod ${this.address}: HTTP ${status}`),
            );
          });
        },
      );
      req.on('timeout', () => req.destroy(new PodControlError('TIMEOUT', 0, `${method} ${path} on pod ${this.address}: no answer within ${this.timeoutMs} ms`)));
      req.on('error', (e) => reject(e instanceof PodControlError ? e : new PodControlError('UNREACHABLE', 0, `${method} ${path} on pod ${this.address}: ${e.message}`, { cause: e })));
      req.end(body);
    });
  }
}

/** Reads a pod's /load (plain HTTP on its ops address). */
export function readPodLoad(opsAddress: string, timeoutMs = 2000): Promise<PodLoad> {
  const { host, port } = splitHostPort(opsAddress);
  return new Promise<PodLoad>((resolve, reject) => {
    const req = httpRequest({ host, port, path: '/load', agent: false, timeout: timeoutMs }, (res) => {
      readJson(res, (status, parsed) => {
        if (status !== 200) return reject(new PodControlError('BAD_ANSWER', status, `GET /load on ${opsAddress}: HTTP ${status}`));
        const load = podLoadSchema.safeParse(parsed);
        if (load.success) resolve(load.data);
        else reject(new PodControlError('BAD_ANSWER', status, `GET /load on ${opsAddress}: unexpected answer ${JSON.stringify(parsed)}`));
      });
    });
    req.on('timeout', () => req.destroy(new PodControlError('TIMEOUT', 0, `GET /load on ${opsAddress}: no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => reject(e instanceof PodControlError ? e : new PodControlError('UNREACHABLE', 0, `GET /load on ${opsAddress}: ${e.message}`, { cause: e })));
    req.end();
  });
}

function readJson(res: IncomingMessage, done: (status: number, parsed: unknown) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => {
    const text = Buffer.concat(chunks).toString('utf8');
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: the status decides
    }
    done(res.statusCode ?? 0, parsed);
  });
}

function parseAnswer<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new PodControlError('BAD_ANSWER', 200, `unexpected ${what} answer: ${JSON.stringify(body)}`);
  return parsed.data;
}
