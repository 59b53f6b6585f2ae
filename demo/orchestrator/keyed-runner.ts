// Runs one reconcile per key at a time: a kick while one runs marks the key
// dirty and it runs once more afterwards, so bursts of kicks collapse and no
// key is ever reconciled twice at once (the work queue's promise, in-process).
export class KeyedRunner {
  private readonly running = new Map<string, Promise<void>>();
  private readonly dirty = new Set<string>();
  private stopped = false;

  constructor(
    private readonly work: (key: string) => Promise<void>,
    private readonly onError: (key: string, err: unknown) => void,
  ) {}

  /** Asks for a reconcile of `key`; resolves when one that started after this call has finished. */
  kick(key: string): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const current = this.running.get(key);
    if (current) {
      // The running loop goes round once more before `current` settles.
      this.dirty.add(key);
      return current;
    }
    const run = (async () => {
      do {
        this.dirty.delete(key);
        try {
          await this.work(key);
        } catch (err) {
          this.onError(key, err);
        }
      } while (this.dirty.has(key) && !this.stopped);
    })().finally(() => this.running.delete(key));
    this.running.set(key, run);
    return run;
  }

  /** No new runs; resolves when the current ones end. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.running.values());
  }
}
