import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, duration, hostPort, loadSettings } from './index.js';

const schema = z.object({
  listen: hostPort.default('127.0.0.1:1'),
  gcTtl: duration.default(1000),
  dataDir: z.string().min(1).default('d'),
});

describe('loadSettings', () => {
  it('reads flags in both forms and environment variables; flags win', () => {
    const settings = loadSettings(schema, 'SHOAL_X', ['--listen=0.0.0.0:9', '--gc-ttl', '10m'], { SHOAL_X_DATA_DIR: '/data', SHOAL_X_LISTEN: 'ignored:1' });
    expect(settings).toEqual({ listen: '0.0.0.0:9', gcTtl: 600_000, dataDir: '/data' });
    expect(loadSettings(schema, 'SHOAL_X', [], {})).toEqual({ listen: '127.0.0.1:1', gcTtl: 1000, dataDir: 'd' });
  });

  it('reports every problem at once, by the name the user typed', () => {
    let caught: unknown;
    try {
      loadSettings(schema, 'SHOAL_X', ['--listen', 'nope', '--colour=red', 'stray'], { SHOAL_X_GC_TTL: 'soon' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const problems = (caught as ConfigError).problems.join('\n');
    expect(problems).toMatch(/unexpected argument "stray"/);
    expect(problems).toMatch(/unknown flag --colour/);
    expect(problems).toMatch(/--listen \(SHOAL_X_LISTEN\): expected host:port \(got "nope"\)/);
    expect(problems).toMatch(/--gc-ttl \(SHOAL_X_GC_TTL\): expected a duration like .* \(got "soon"\)/);
  });
});
