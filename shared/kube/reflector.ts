// Keeps a local copy of a set of Kubernetes objects current, the way
// client-go's reflector does: list, then watch from the list's
// resourceVersion; on 410 Gone (the version fell out of the API server's
// window) list again; on a broken stream watch again after a back-off; a
// watchdog aborts a stream that goes silent past the server's own timeout.
// Consumers see every change as an event, deletions missed while
// disconnected included (a relist is diffed against the copy).
import type { z } from 'zod';
import { KubeApiError, type KubeApi, type KubeObject, type WatchEvent } from './api.js';

export type StoreEvent<T> =
  | { readonly type: 'added' | 'updated'; readonly object: T; readonly old?: T }
  | { readonly type: 'deleted'; readonly object: T };

export function keyOf(o: KubeObject): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
}

/** What a relist changes, as events: pure, so the subtle part is table-tested. */
export function diffStore<T extends KubeObject>(current: ReadonlyMap<string, T>, listed: readonly T[]): StoreEvent<T>[] {
  const events: StoreEvent<T>[] = [];
  const seen = new Set<string>();
  for (const object of listed) {
    const key = keyOf(object);
    seen.add(key);
    const old = current.get(key);
    if (!old) events.push({ type: 'added', object });
    else if (old.metadata.resourceVersion !== object.metadata.resourceVersion) events.push({ type: 'updated', object, old });
  }
  for (const [key, object] of current) if (!seen.has(key)) events.push({ type: 'deleted', object });
  return events;
}

/** Applies one watch event to the store; returns the consumer's event (undefined for bookmarks and errors). */
export function applyWatchEvent<T extends KubeObject>(store: Map<string, T>, event: WatchEvent<T>): StoreEvent<T> | undefined {
  if (event.type === 'BOOKMARK' || event.type === 'ERROR') return undefined;
  const key = keyOf(event.object);
  if (event.type === 'DELETED') {
    const had = store.get(key);
    store.delete(key);
    return { type: 'deleted', object: had ?? event.object };
  }
  const old = store.get(key);
  store.set(key, event.object);
  return old ? { type: 'updated', object: event.object, old } : { type: 'added', object: event.object };
}

/** Exponential back-off with full jitter, capped. */
export function backoffMs(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export interface ReflectorOptions<T> {
  readonly api: KubeApi;
  /** Collection path, e.g. /api/v1/namespaces/shoal/pods. */
  readonly path: string;
  readonly item: z.ZodType<T>;
  readonly labelSelector?: string;
  /** The server ends each watch after this long (default 300 s, jittered like client-go). */
  readonly watchTimeoutSeconds?: number;
  /** A watch with no byte for this long past its own timeout is aborted (default 30 s). */
  readonly watchdogGraceMs?: number;
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  /** Every change; `synced` is true once the first list has been applied. */
  readonly onEvent: (event: StoreEvent<T>) => void;
  readonly onSynced?: () => void;
  readonly onError?: (err: unknown, nextAttemptMs: number) => void;
}

export class Reflector<T extends KubeObject> {
  private readonly store = new Map<string, T>();
  private resourceVersion: string | null = null;
  private stopped = false;
  private current: { abort(): void } | null = null;
  private wake: (() => void) | null = null;
  private synced = false;
  /** Relists since start; watch restarts since start (for tests and metrics). */
  readonly stats = { lists: 0, watches: 0, gone: 0, watchdogAborts: 0, errors: 0 };
  readonly done: Promise<void>;

  constructor(private readonly options: ReflectorOptions<T>) {
    this.done = this.run();
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  list(): T[] {
    return [...this.store.values()];
  }

  /** Resolves once the first list has been applied. */
  async waitForSync(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.synced) {
      if (Date.now() > deadline || this.stopped) throw new Error(`${this.options.path}: not synced within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  stop(): Promise<void> {
    this.stopped = true;
    this.current?.abort();
    this.wake?.();
    return this.done;
  }

  private async run(): Promise<void> {
    const { initialMs, maxMs } = this.options.backoff ?? { initialMs: 200, maxMs: 30_000 };
    let failures = 0;
    while (!this.stopped) {
      try {
        if (this.resourceVersion === null) await this.relist();
        const started = Date.now();
        await this.watchOnce();
        // A stream the server ends at once, again and again, must not become a busy loop.
        if (Date.now() - started < 1000 && !this.stopped) await this.sleep(backoffMs(++failures, initialMs, maxMs));
        else failures = 0;
      } catch (err) {
        if (this.stopped) break;
        if (err instanceof KubeApiError && (err.status === 410 || err.reason === 'Expired' || err.reason === 'Gone')) {
          this.stats.gone++;
          this.resourceVersion = null;
          continue;
        }
        this.stats.errors++;
        const wait = backoffMs(++failures, initialMs, maxMs);
        this.options.onError?.(err, wait);
        await this.sleep(wait);
      }
    }
  }

  private async relist(): Promise<void> {
    this.stats.lists++;
    const query: Record<string, string> = this.options.labelSelector ? { labelSelector: this.options.labelSelector } : {};
    const { items, resourceVersion } = await this.options.api.list(this.options.path, this.options.item, query);
    const events = diffStore(this.store, items as (T & KubeObject)[]);
    this.store.clear();
    for (const object of items) this.store.set(keyOf(object), object);
    this.resourceVersion = resourceVersion;
    for (const e of events) this.options.onEvent(e);
    if (!this.synced) {
      this.synced = true;
      this.options.onSynced?.();
    }
  }

  private async watchOnce(): Promise<void> {
    const resourceVersion = this.resourceVersion;
    if (resourceVersion === null) return;
    this.stats.watches++;
    const base = this.options.watchTimeoutSeconds ?? 300;
    const timeoutSeconds = Math.round(base * (1 + Math.random()));
    const grace = this.options.watchdogGraceMs ?? 30_000;
    const query: Record<string, string> = this.options.labelSelector ? { labelSelector: this.options.labelSelector } : {};
    let gone: WatchEvent<T> | undefined;
    let watchdog: NodeJS.Timeout | undefined;
    let abort = (): void => undefined;
    // The server ends the stream at timeoutSeconds; silence well past that is a hung connection.
    const arm = () => {
      if (watchdog) clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        this.stats.watchdogAborts++;
        abort();
      }, timeoutSeconds * 1000 + grace);
    };
    const handle = await this.options.api.watch(
      this.options.path,
      this.options.item,
      { resourceVersion, timeoutSeconds, query },
      (event) => {
        if (event.type === 'ERROR') {
          gone = event;
          abort();
          return;
        }
        if (event.type === 'BOOKMARK') this.resourceVersion = event.resourceVersion;
        else {
          this.resourceVersion = event.object.metadata.resourceVersion ?? this.resourceVersion;
          const out = applyWatchEvent(this.store, event);
          if (out) this.options.onEvent(out);
        }
      },
      arm,
    );
    abort = () => handle.abort();
    this.current = handle;
    arm();
    try {
      await handle.ended;
    } finally {
      if (watchdog) clearTimeout(watchdog);
      this.current = null;
    }
    if (gone?.type === 'ERROR') {
      throw new KubeApiError(gone.code, gone.code === 410 ? 'Expired' : gone.reason || 'WatchError', `watch ${this.options.path}: ${gone.message}`);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
