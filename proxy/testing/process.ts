// The proxy binary (proxy/main.ts) as a child process for tests. It listens on
// ports the OS picks (127.0.0.1:0) and says which in its "proxy serving" line,
// so two test files can never race for one port.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const servingSchema = z.object({ msg: z.literal('proxy serving'), listen: z.string(), ops: z.string() });

export interface ProxyChild {
  readonly port: number;
  readonly opsPort: number;
  readonly child: ChildProcessWithoutNullStreams;
  readonly exited: Promise<number | null>;
  /** Everything the process printed so far, for assertions and failure messages. */
  output(): string;
  /** SIGKILL if it is still running. */
  kill(): void;
}

const portOf = (address: string) => Number(address.slice(address.lastIndexOf(':') + 1));

/** Starts the proxy with `args` (besides --listen and --ops-listen) and resolves once it serves. */
export async function startProxyChild(args: readonly string[], timeoutMs = 20_000): Promise<ProxyChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'proxy/main.ts', '--listen', '127.0.0.1:0', '--ops-listen', '127.0.0.1:0', ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const serving = new Promise<z.infer<typeof servingSchema>>((resolve, reject) => {
    const onData = (chunk: string) => {
      output += chunk;
      for (const line of output.split('\n')) {
        const parsed = servingSchema.safeParse(safeJson(line));
        if (parsed.success) resolve(parsed.data);
      }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
    void exited.then((code) => reject(new Error(`the proxy exited (${code}) before serving:\n${output}`)));
    setTimeout(() => reject(new Error(`the proxy did not serve within ${timeoutMs} ms:\n${output}`)), timeoutMs).unref();
  });
  try {
    const ready = await serving;
    return { port: portOf(ready.listen), opsPort: portOf(ready.ops), child, exited, output: () => output, kill };
  } catch (err) {
    kill();
    throw err;
  }
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}
