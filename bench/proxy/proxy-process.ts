// The Shoal proxy as it runs in production, in its own process
// (`node --import tsx proxy/main.ts`), in static mode: a routing file with
// one tenant, `bench`, whose one address is the bench's PostgreSQL, reached
// over plain TCP.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answers } from './pgbouncer.js';
import { freePort, Watched } from './watched.js';

export const TENANT = 'bench';

export interface ProxyProcessOptions {
  repoRoot: string;
  backendPort: number;
  /** With a directory, the proxy runs under --cpu-prof and writes its profile there when it stops. */
  profileDir?: string;
}

export interface ProxyProcess {
  /** The tenant is named with options=--cluster=bench. */
  url(database?: string): string;
  port: number;
  pid: number | undefined;
  /** Its exit status (or 'running') and the last of its output, for failure messages. */
  describe(): string;
  stop(): Promise<void>;
}

export async function startProxyProcess(options: ProxyProcessOptions): Promise<ProxyProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-bench-proxy-'));
  let server: Watched | undefined;
  const stop = async () => {
    // SIGTERM: the proxy stops accepting, lets sessions finish (none are open by now) and exits, writing any CPU profile.
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const routing = join(dir, 'routing.json');
    writeFileSync(routing, JSON.stringify({ tenants: { [TENANT]: { addresses: [`127.0.0.1:${options.backendPort}`] } } }));
    const [port, opsPort] = [await freePort(), await freePort()];
    // Settings come from the flags only, not from a SHOAL_PROXY_* environment of whoever runs the bench.
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('SHOAL_PROXY_')));
    server = Watched.start('proxy', {
      command: [
        process.execPath,
        ...(options.profileDir ? ['--cpu-prof', '--cpu-prof-dir', options.profileDir] : []),
        '--import',
        'tsx',
        'proxy/main.ts',
        '--listen',
        `127.0.0.1:${port}`,
        '--ops-listen',
        `127.0.0.1:${opsPort}`,
        '--static-routing',
        routing,
        '--shutdown-grace',
        '2s',
        // The default level. It logs nothing per connection (only startup, shutdown and trouble), and
        // "proxy serving", the readiness line, is an info line: at warn the bench would have nothing to wait for.
        '--log-level',
        'info',
      ],
      dir,
      cwd: options.repoRoot,
      env,
    });
    await server.waitFor('"proxy serving" log line', (out) => out.includes('"msg":"proxy serving"'), 30_000);
    const url = (database = 'postgres') => `postgresql://postgres@127.0.0.1:${port}/${encodeURIComponent(database)}?options=--cluster%3D${TENANT}`;
    await server.waitFor('answer through the proxy', () => answers(url()), 10_000);
    const running = server;
    return {
      url,
      port,
      get pid() {
        return running.pid;
      },
      describe: () => `${running.describeExit()}; its output ends:\n${running.log.slice(-4000)}`,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
