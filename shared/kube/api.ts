// A small Kubernetes API client: JSON requests and watch streams over the
// kubeconfig's HTTPS settings (@kubernetes/client-node reads the kubeconfig
// and in-cluster service-account credentials; the requests are ours, so a
// watch is a plain stream we can time and abort).
import { readFileSync } from 'node:fs';
import { Agent, request, type RequestOptions } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { z } from 'zod';

export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(
    /** HTTP status; 0 when the API server was not reached. */
    readonly status: number,
    /** The Status object's reason (NotFound, Conflict, Invalid, Expired, …) or ours. */
    readonly reason: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export const ownerReferenceSchema = z.object({
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
  uid: z.string(),
  controller: z.boolean().optional(),
  blockOwnerDeletion: z.boolean().optional(),
});
export type OwnerReference = z.infer<typeof ownerReferenceSchema>;

export const objectMetaSchema = z.object({
  name: z.string(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.number().optional(),
  finalizers: z.array(z.string()).optional(),
  ownerReferences: z.array(ownerReferenceSchema).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  deletionTimestamp: z.string().optional(),
  creationTimestamp: z.string().optional(),
});

/** What every object a reflector keeps has. */
export interface KubeObject {
  readonly metadata: z.infer<typeof objectMetaSchema>;
}

const statusSchema = z.object({ kind: z.literal('Status'), code: z.number().optional(), reason: z.string().optional(), message: z.string().optional() });

export type WatchEvent<T> =
  | { readonly type: 'ADDED' | 'MODIFIED' | 'DELETED'; readonly object: T }
  | { readonly type: 'BOOKMARK'; readonly resourceVersion: string }
  | { readonly type: 'ERROR'; readonly code: number; readonly reason: string; readonly message: string };

export interface ListResult<T> {
  readonly items: T[];
  readonly resourceVersion: string;
}

export interface WatchHandle {
  /** Resolves when the server ends the stream (its timeout) or it is aborted; rejects on a transport error. */
  readonly ended: Promise<void>;
  abort(): void;
}

/**
 * How long the kubeconfig's credentials are reused before they are read again
 * (an in-cluster service-account token is rotated on disk).
 */
const CREDENTIALS_TTL_MS = 60_000;

export class KubeApi {
  /** Credentials as the kubeconfig gave them, and when. */
  private credentials: { readonly at: number; readonly options: RequestOptions } | null = null;
  /**
   * One keep-alive agent per TLS identity: a new TLS connection per request
   * cost the operator half its CPU per tenant (make bench-operator).
   */
  private agent: { readonly identity: string; readonly agent: Agent } | null = null;

  private constructor(
    private readonly config: KubeConfig,
    private readonly server: URL,
  ) {}

  /** From a kubeconfig file, or (no path) the default: $KUBECONFIG, ~/.kube/config, or in-cluster. */
  static fromKubeconfig(path?: string): KubeApi {
    const config = new KubeConfig();
    if (path) config.loadFromFile(path);
    else config.loadFromDefault();
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new KubeApiError(0, 'NoCluster', `kubeconfig ${path ?? '(default)'} has no current cluster`);
    return new KubeApi(config, new URL(cluster.server));
  }

  async get<T>(path: string, schema: z.ZodType<T>): Promise<T> {
    return schema.parse(await this.json('GET', path));
  }

  async list<T>(path: string, item: z.ZodType<T>, query: Record<string, string> = {}): Promise<ListResult<T>> {
    const body = z
      .object({ metadata: z.object({ resourceVersion: z.string() }), items: z.array(z.unknown()) })
      .parse(await this.json('GET', withQuery(path, query)));
    // Items of a kind we do not understand are skipped, not fatal: the API may hold objects a newer writer made.
    const items = body.items.flatMap((raw) => {
      const parsed = item.safeParse(raw);
      return parsed.success ? [parsed.data] : [];
    });
    return { items, resourceVersion: body.metadata.resourceVersion };
  }

  /** PATCH with a content type: 'application/json-patch+json' or 'application/merge-patch+json'. */
  async patch(path: string, body: unknown, contentType: 'application/json-patch+json' | 'application/merge-patch+json'): Promise<unknown> {
    return this.json('PATCH', path, body, contentType);
  }

  /** PUT: with metadata.resourceVersion in the body, a 409 Conflict says someone wrote in between. */
  async replace(path: string, body: unknown): Promise<unknown> {
    return this.json('PUT', path, body, 'application/json');
  }

  async create(path: string, body: unknown): Promise<unknown> {
    return this.json('POST', path, body, 'application/json');
  }

  async delete(path: string): Promise<unknown> {
    return this.json('DELETE', path);
  }

  /**
   * Streams watch events of `path` from `resourceVersion`; the server ends the
   * stream after `timeoutSeconds`. Each event, and every raw chunk (for a
   * watchdog), is reported as it arrives.
   */
  async watch<T>(
    path: string,
    item: z.ZodType<T>,
    options: { resourceVersion: string; timeoutSeconds: number; query?: Record<string, string> },
    onEvent: (event: WatchEvent<T>) => void,
    onChunk?: () => void,
  ): Promise<WatchHandle> {
    const url = withQuery(path, {
      ...options.query,
      watch: '1',
      resourceVersion: options.resourceVersion,
      allowWatchBookmarks: 'true',
      timeoutSeconds: String(options.timeoutSeconds),
    });
    const req = await this.request('GET', url);
    let aborted = false;
    const ended = new Promise<void>((resolve, reject) => {
      req.on('response', (res) => {
        if ((res.statusCode ?? 0) >= 300) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => reject(apiError(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), `watch ${path}`)));
          return;
        }
        let partial = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          onChunk?.();
          const lines = (partial + chunk).split('\n');
          partial = lines.pop() ?? '';
          for (const line of lines) {
            if (line.trim() === '') continue;
            const event = parseWatchLine(line, item);
            if (event) onEvent(event);
          }
        });
        res.on('end', () => resolve());
        res.on('error', (e) => (aborted ? resolve() : reject(e)));
      });
      req.on('error', (e) => (aborted ? resolve() : reject(new KubeApiError(0, 'Unreachable', `watch ${path}: ${e.message}`, { cause: e }))));
    });
    req.end();
    return {
      ended,
      abort: () => {
        aborted = true;
        req.destroy();
      },
    };
  }

  private async json(method: string, path: string, body?: unknown, contentType?: string): Promise<unknown> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = await this.request(method, path, payload ? { 'content-type': contentType ?? 'application/json', 'content-length': String(payload.length) } : {});
    return new Promise((resolve, reject) => {
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 0) >= 300) return reject(apiError(res.statusCode ?? 0, text, `${method} ${path}`));
          try {
            resolve(text === '' ? null : JSON.parse(text));
          } catch (e) {
            reject(new KubeApiError(res.statusCode ?? 0, 'BadResponse', `${method} ${path}: not JSON`, { cause: e }));
          }
        });
      });
      req.on('error', (e) => reject(new KubeApiError(0, 'Unreachable', `${method} ${path}: ${e.message}`, { cause: e })));
      req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
      req.end(payload);
    });
  }

  private async request(method: string, path: string, headers: Record<string, string> = {}) {
    const base = await this.baseOptions();
    return request({
      ...base,
      method,
      path: `${this.server.pathname.replace(/\/$/, '')}${path}`,
      headers: { ...(base.headers as Record<string, string>), accept: 'application/json', ...headers },
    });
  }

  private async baseOptions(): Promise<RequestOptions> {
    const now = Date.now();
    if (this.credentials && now - this.credentials.at < CREDENTIALS_TTL_MS) return this.credentials.options;
    const options: RequestOptions = {
      protocol: this.server.protocol,
      hostname: this.server.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: this.server.port || 443,
      headers: {},
    };
    await this.config.applyToHTTPSOptions(options);
    const tls = { ca: options.ca, cert: options.cert, key: options.key, rejectUnauthorized: options.rejectUnauthorized, servername: options.servername };
    const identity = JSON.stringify(tls);
    if (this.agent?.identity !== identity) {
      this.agent?.agent.destroy();
      this.agent = { identity, agent: new Agent({ keepAlive: true, ...definedOnly(tls) }) };
    }
    options.agent = this.agent.agent;
    this.credentials = { at: now, options };
    return options;
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function withQuery(path: string, query: Record<string, string>): string {
  const q = new URLSearchParams(query).toString();
  return q ? `${path}${path.includes('?') ? '&' : '?'}${q}` : path;
}

function apiError(status: number, text: string, what: string): KubeApiError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const s = statusSchema.safeParse(parsed);
  if (s.success) return new KubeApiError(status, s.data.reason ?? 'Unknown', `${what}: ${s.data.message ?? `HTTP ${status}`}`);
  return new KubeApiError(status, 'Unknown', `${what}: HTTP ${status} ${text.slice(0, 200)}`);
}

const rawEventSchema = z.object({ type: z.enum(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']), object: z.unknown() });

/** One line of a watch stream; undefined for a line or object we cannot read (skipped, like an unknown item). */
export function parseWatchLine<T>(line: string, item: z.ZodType<T>): WatchEvent<T> | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return undefined;
  }
  const event = rawEventSchema.safeParse(raw);
  if (!event.success) return undefined;
  const { type, object } = event.data;
  if (type === 'ERROR') {
    const s = statusSchema.safeParse(object);
    return { type, code: s.success ? (s.data.code ?? 0) : 0, reason: s.success ? (s.data.reason ?? '') : '', message: s.success ? (s.data.message ?? '') : 'unreadable error event' };
  }
  if (type === 'BOOKMARK') {
    const rv = z.object({ metadata: z.object({ resourceVersion: z.string() }) }).safeParse(object);
    return rv.success ? { type, resourceVersion: rv.data.metadata.resourceVersion } : undefined;
  }
  const parsed = item.safeParse(object);
  return parsed.success ? { type, object: parsed.data } : undefined;
}

/** The namespace of the pod's service account, when running in a cluster. */
export function serviceAccountNamespace(): string | undefined {
  try {
    return readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
