// kvpod as a real child process, for tests that crash, stop or misconfigure it.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export { freePort } from '../../shared/net/index.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const READY_TIMEOUT_MS = 30_000;

export interface Spec {
  ca: string;
  cert: string;
  key: string;
  dataDir: string;
  port: number;
}

/** A kvpod child process and what it has written, kept for failure messages. */
export interface Pod {
  child: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
}


export function spawnPod(spec: Spec, extraArgs: string[] = []): Pod {
  const child = spawn(
    process.execPath,
    [
      '--import', 'tsx', 'kvpod/main.ts',
      '--listen', `127.0.0.1:${spec.port}`,
      '--metrics-listen', '127.0.0.1:0',
      '--data-dir', spec.dataDir,
      '--ca-cert', spec.ca,
      '--cert', spec.cert,
      '--key', spec.key,
      // 'info' rather than 'warn': readiness is the "kvpod serving" line.
      '--log-level', 'info',
      ...extraArgs,
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // Kept bounded: only the tail matters for a failure message.
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout = (stdout + chunk).slice(-16_384)));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-16_384)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, output: () => `--- stderr ---\n${stderr}\n--- stdout ---\n${stdout}` };
}

/** Resolves once the pod logs that it serves; rejects if it exits first or takes too long. */
export function whenServing(pod: Pod): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer | string) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (servingLine(line)) {
          settle();
          resolve();
          return;
        }
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      settle();
      // Let the stderr pipe drain so the message carries the reason.
      setTimeout(() => reject(new Error(`kvpod exited before serving (code ${code}, signal ${signal})\n${pod.output()}`)), 50);
    };
    const timer = setTimeout(() => {
      settle();
      reject(new Error(`kvpod did not report "kvpod serving" within ${READY_TIMEOUT_MS} ms\n${pod.output()}`));
    }, READY_TIMEOUT_MS);
    const settle = () => {
      clearTimeout(timer);
      pod.child.stdout?.off('data', onData);
      pod.child.off('exit', onExit);
    };
    pod.child.stdout?.on('data', onData);
    pod.child.once('exit', onExit);
  });
}

function servingLine(line: string): boolean {
  try {
    const parsed: unknown = JSON.parse(line);
    return typeof parsed === 'object' && parsed !== null && 'msg' in parsed && parsed.msg === 'kvpod serving';
  } catch {
    return false;
  }
}

/** Starts a pod on the spec's fixed port, retrying while the old one's port is not yet free. */
export async function startPod(spec: Spec, extraArgs: string[] = []): Promise<Pod> {
  for (let attempt = 1; ; attempt++) {
    const pod = spawnPod(spec, extraArgs);
    try {
      await whenServing(pod);
      return pod;
    } catch (err) {
      await stopPod(pod);
      const portBusy = err instanceof Error && /EADDRINUSE|address already in use/i.test(err.message);
      if (!portBusy || attempt >= 5) throw err;
      await sleep(250 * attempt);
    }
  }
}

export async function stopPod(pod: Pod): Promise<void> {
  if (pod.child.exitCode === null && pod.child.signalCode === null) pod.child.kill('SIGKILL');
  await pod.exited;
}

