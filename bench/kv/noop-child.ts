// The noop gRPC server (bench/kv/noop-server.ts) in its own process: the
// transport floor the gRPC side is compared with. It serves with the kvpod's
// certificates, so the kvpod's tenant clients can call it.
import { spawn, type ChildProcess } from 'node:child_process';
import { processCpuSeconds } from './cpu.js';
import type { CertFiles } from './kvpod-child.js';

export interface NoopOptions {
  repoRoot: string;
  certFiles: CertFiles;
  valueBytes: number;
}

export class NoopChild {
  private output = '';
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exit: Promise<void>;
  private listening: ((address: string) => void) | undefined;
  /** host:port the server is bound to, once started. */
  address = '';

  private constructor(private readonly proc: ChildProcess) {
    proc.stdout?.on('data', (chunk: Buffer) => this.keep(chunk));
    proc.stderr?.on('data', (chunk: Buffer) => this.keep(chunk));
    this.exit = new Promise((resolve) =>
      proc.once('exit', (code, signal) => {
        this.exited = { code, signal };
        resolve();
      }),
    );
  }

  private keep(chunk: Buffer): void {
    this.output = (this.output + chunk.toString('utf8')).slice(-20_000);
    const match = /^listening (\S+)$/m.exec(this.output);
    if (match?.[1] && this.listening) {
      this.listening(match[1]);
      this.listening = undefined;
    }
  }

  static async start(options: NoopOptions): Promise<NoopChild> {
    const args = [
      '--import',
      'tsx',
      'bench/kv/noop-server.ts',
      '--listen',
      '127.0.0.1:0',
      '--ca-cert',
      options.certFiles.ca,
      '--cert',
      options.certFiles.cert,
      '--key',
      options.certFiles.key,
      '--value-bytes',
      String(options.valueBytes),
    ];
    // stdin is a pipe the server watches: if the bench dies, the server exits too.
    const proc = spawn(process.execPath, args, { cwd: options.repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
    const child = new NoopChild(proc);
    try {
      child.address = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`noop gRPC server not listening after 30 s:\n${child.output}`)), 30_000);
        child.listening = (address) => {
          clearTimeout(timer);
          resolve(address);
        };
        void child.exit.then(() => {
          clearTimeout(timer);
          reject(new Error(`noop gRPC server exited during startup (${child.exitStatus}):\n${child.output}`));
        });
      });
      return child;
    } catch (err) {
      await child.stop();
      throw err;
    }
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** CPU seconds the server process has used so far (all threads), from /proc. */
  cpuSeconds(): number | undefined {
    return processCpuSeconds(this.proc.pid);
  }

  get log(): string {
    return this.output;
  }

  get exitStatus(): string {
    return this.exited ? `code ${this.exited.code}, signal ${this.exited.signal}` : 'running';
  }

  /** SIGTERM, SIGKILL after 5 s. */
  async stop(): Promise<void> {
    if (!this.exited) {
      this.proc.kill('SIGTERM');
      const killer = setTimeout(() => this.proc.kill('SIGKILL'), 5_000);
      await this.exit;
      clearTimeout(killer);
    }
    this.proc.stdin?.destroy();
  }
}
