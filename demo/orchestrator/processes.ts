// SQL pods as local processes: what the demo has instead of a Deployment and
// a kubelet. Each pod gets its ports from the orchestrator (so its addresses
// are known before it starts), logs to its own file, and stops by itself if
// the orchestrator dies.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../shared/net/index.js';
import { readPodLoad } from '../../shared/podctl/index.js';

/** How to start one SQL pod process; the orchestrator adds the per-pod flags. */
export interface SqlpodCommand {
  readonly executable: string;
  readonly args: readonly string[];
  readonly cwd: string;
}

export interface PodFiles {
  readonly caCert: string;
  /** The pool certificate: the control endpoint's identity before and after the stamp. */
  readonly cert: string;
  readonly key: string;
  readonly logDir: string;
}

export interface PodAddresses {
  readonly control: string;
  readonly sql: string;
  readonly ops: string;
}

export interface PodProcess {
  readonly name: string;
  readonly addresses: PodAddresses;
  readonly pid: number | undefined;
  readonly logFile: string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
  readonly running: boolean;
}

/** Hands out loopback ports nobody listens on, never one a live pod of ours still holds. */
export class PortAllocator {
  private readonly held = new Set<number>();

  async take(): Promise<number> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const port = await freePort();
      if (!this.held.has(port)) {
        this.held.add(port);
        return port;
      }
    }
    throw new Error('no free loopback port after 20 tries');
  }

  release(port: number): void {
    this.held.delete(port);
  }
}


export interface SpawnPodOptions {
  readonly name: string;
  readonly command: SqlpodCommand;
  readonly files: PodFiles;
  readonly ports: PortAllocator;
  readonly drainLimitMs: number;
  readonly logLevel: string;
}

export async function spawnPod(options: SpawnPodOptions): Promise<PodProcess> {
  const { name, command, files, ports } = options;
  const [control, sql, ops] = [await ports.take(), await ports.take(), await ports.take()];
  const addresses: PodAddresses = { control: `127.0.0.1:${control}`, sql: `127.0.0.1:${sql}`, ops: `127.0.0.1:${ops}` };
  const logFile = join(files.logDir, `${name}.log`);
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(
      command.executable,
      [
        ...command.args,
        '--control-listen', addresses.control,
        '--sql-listen', addresses.sql,
        '--ops-listen', addresses.ops,
        '--ca-cert', files.caCert,
        '--cert', files.cert,
        '--key', files.key,
        '--drain-limit', `${options.drainLimitMs}ms`,
        '--log-level', options.logLevel,
        '--parent-pid', String(process.pid),
      ],
      // Its own process group: a Ctrl-C in the terminal reaches the demo, which stops its pods in order.
      { cwd: command.cwd, stdio: ['ignore', fd, fd], detached: true },
    );
  } finally {
    closeSync(fd);
  }
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(null));
  });
  void exited.then(() => [control, sql, ops].forEach((p) => ports.release(p)));
  return {
    name,
    addresses,
    pid: child.pid,
    logFile,
    exited,
    kill: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    get running() {
      return child.exitCode === null && child.signalCode === null;
    },
  };
}

/** Resolves once the pod answers /load (ready to be stamped); rejects if it exits first or takes too long. */
export async function whenUnbound(pod: PodProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void pod.exited.then(() => (exited = true));
  for (let wait = 20; ; wait = Math.min(wait * 2, 200)) {
    if (exited) throw new Error(`SQL pod ${pod.name} exited while starting (see ${pod.logFile})`);
    try {
      const load = await readPodLoad(pod.addresses.ops, 1000);
      if (load.state === 'unbound') return;
      throw new Error(`SQL pod ${pod.name} started ${load.state}, not unbound`);
    } catch (e) {
      if (e instanceof Error && e.message.includes('not unbound')) throw e;
    }
    if (Date.now() > deadline) throw new Error(`SQL pod ${pod.name} did not start within ${timeoutMs} ms (see ${pod.logFile})`);
    await sleep(wait);
  }
}
