import { describe, expect, it } from 'vitest';
import { FrontendParser, type StartupPacket } from '../../shared/pgwire/index.js';
import { HOW_TO_IDENTIFY, IDENTIFY_SQLSTATE, identifyTenant, type IdentifyErrorCode, type IdentifyMethod } from './index.js';

interface Case {
  name: string;
  params: Record<string, string>;
  sni?: string;
  tenant?: string;
  method?: IdentifyMethod;
  /** The forwarded parameters; defaults to `params` unchanged. */
  forwarded?: Record<string, string>;
  error?: IdentifyErrorCode;
  /** Substring of the error message. */
  says?: string;
}

const user = { user: 'alice' };

const cases: Case[] = [
  // options
  { name: 'options: --cluster=<name>, options dropped when nothing is left', params: { ...user, options: '--cluster=acme' }, tenant: 'acme', method: 'options', forwarded: user },
  { name: 'options: -c cluster=<name>', params: { ...user, options: '-c cluster=acme' }, tenant: 'acme', method: 'options', forwarded: user },
  { name: 'options: -ccluster=<name>', params: { ...user, options: '-ccluster=acme' }, tenant: 'acme', method: 'options', forwarded: user },
  {
    name: 'options: other options are kept, in order',
    params: { ...user, options: '-c statement_timeout=5s --cluster=acme -c search_path=app' },
    tenant: 'acme',
    method: 'options',
    forwarded: { ...user, options: '-c statement_timeout=5s -c search_path=app' },
  },
  {
    name: 'options: escaped spaces and backslashes survive the rewrite',
    params: { ...user, options: '--cluster=acme -c search_path=a\\ b -c x=c\\\\d' },
    tenant: 'acme',
    method: 'options',
    forwarded: { ...user, options: '-c search_path=a\\ b -c x=c\\\\d' },
  },
  {
    name: 'options: an escaped space makes one argument, so the name is invalid',
    params: { ...user, options: '--cluster=acme\\ -c\\ x' },
    error: 'INVALID_NAME',
    says: '"acme -c x"',
  },
  { name: 'options: extra whitespace around the flag', params: { ...user, options: '  \t--cluster=acme  ' }, tenant: 'acme', method: 'options', forwarded: user },
  { name: 'options: the same name twice is one identifier', params: { ...user, options: '--cluster=acme -c cluster=acme' }, tenant: 'acme', method: 'options', forwarded: user },
  { name: 'options: two different names conflict', params: { ...user, options: '--cluster=acme --cluster=zeta' }, error: 'CONFLICT', says: 'acme, zeta' },
  { name: 'options: empty name', params: { ...user, options: '--cluster=' }, error: 'INVALID_NAME', says: 'is empty' },
  { name: 'options: uppercase name is refused with a hint', params: { ...user, options: '--cluster=Acme' }, error: 'INVALID_NAME', says: 'did you mean "acme"' },
  { name: 'options: name longer than a DNS label', params: { ...user, options: `--cluster=${'a'.repeat(64)}` }, error: 'INVALID_NAME' },
  { name: 'options: name with a trailing dash', params: { ...user, options: '--cluster=acme-' }, error: 'INVALID_NAME' },
  {
    name: 'options: "-c --cluster=x" is the value of -c, not the flag',
    params: { ...user, options: '-c --cluster=acme' },
    error: 'MISSING',
  },
  {
    name: 'options: a trailing -c is kept and forwarded as it was',
    params: { ...user, options: '--cluster=acme -c' },
    tenant: 'acme',
    method: 'options',
    forwarded: { ...user, options: '-c' },
  },
  { name: 'options: --cluster without "=" is not the flag', params: { ...user, options: '--cluster acme' }, error: 'MISSING' },
  { name: 'options: without a cluster flag are forwarded untouched', params: { ...user, database: 'acme.app', options: '-c  a=b' }, tenant: 'acme', method: 'database', forwarded: { ...user, database: 'app', options: '-c  a=b' } },

  // database
  { name: 'database: <tenant>.<db> is rewritten to <db>', params: { ...user, database: 'acme.defaultdb' }, tenant: 'acme', method: 'database', forwarded: { ...user, database: 'defaultdb' } },
  { name: 'database: the first dot splits, later dots stay in the database', params: { ...user, database: 'acme.my.db' }, tenant: 'acme', method: 'database', forwarded: { ...user, database: 'my.db' } },
  { name: 'database: without a dot names no tenant', params: { ...user, database: 'defaultdb' }, error: 'MISSING' },
  { name: 'database: empty tenant before the dot', params: { ...user, database: '.defaultdb' }, error: 'INVALID_NAME', says: 'is empty' },
  { name: 'database: nothing after the dot', params: { ...user, database: 'acme.' }, error: 'INVALID_NAME', says: 'use acme.<database>' },
  { name: 'database: uppercase tenant', params: { ...user, database: 'ACME.db' }, error: 'INVALID_NAME', says: 'did you mean "acme"' },

  // options and database together
  {
    name: 'both: the same tenant is fine, both are rewritten, options wins as the method',
    params: { ...user, database: 'acme.app', options: '--cluster=acme' },
    tenant: 'acme',
    method: 'options',
    forwarded: { ...user, database: 'app' },
  },
  {
    name: 'both: different tenants conflict',
    params: { ...user, database: 'zeta.app', options: '--cluster=acme' },
    error: 'CONFLICT',
    says: '"acme" in options but "zeta" in database',
  },

  // SNI
  { name: 'sni: first label of a name with three labels', params: user, sni: 'acme.shoal.example.com', tenant: 'acme', method: 'sni', forwarded: user },
  { name: 'sni: host names are case-insensitive', params: user, sni: 'ACME.Shoal.Example.com', tenant: 'acme', method: 'sni', forwarded: user },
  { name: 'sni: a trailing dot is allowed', params: user, sni: 'acme.shoal.example.', tenant: 'acme', method: 'sni', forwarded: user },
  { name: 'sni: two labels are the proxy domain itself', params: user, sni: 'shoal.example', error: 'MISSING' },
  { name: 'sni: an IPv4 address is not SNI', params: user, sni: '10.1.2.3', error: 'MISSING' },
  { name: 'sni: an IPv6 address is not SNI', params: user, sni: '2001:db8::1', error: 'MISSING' },
  { name: 'sni: an invalid first label is ignored, not refused', params: user, sni: 'my_host.shoal.example.com', error: 'MISSING' },
  { name: 'sni: options win and SNI never conflicts', params: { ...user, options: '--cluster=acme' }, sni: 'proxy.shoal.example.com', tenant: 'acme', method: 'options', forwarded: user },
  { name: 'sni: database wins and SNI never conflicts', params: { ...user, database: 'acme.db' }, sni: 'zeta.shoal.example.com', tenant: 'acme', method: 'database', forwarded: { ...user, database: 'db' } },
  { name: 'sni: an invalid database prefix is refused even with a good SNI', params: { ...user, database: 'Acme.db' }, sni: 'acme.shoal.example.com', error: 'INVALID_NAME' },

  // nothing
  { name: 'missing: no identifier at all says how to pass one', params: user, error: 'MISSING', says: HOW_TO_IDENTIFY },
  { name: 'missing: other parameters are irrelevant', params: { ...user, application_name: 'acme.x', options: '-c application_name=acme' }, error: 'MISSING' },
];

describe('identifyTenant', () => {
  it.each(cases)('$name', (c) => {
    const r = identifyTenant(c.params, c.sni);
    if (c.error) {
      expect(r).toMatchObject({ ok: false, code: c.error });
      if (!r.ok) expect(r.message).toContain(c.says ?? '');
      return;
    }
    expect(r).toEqual({ ok: true, tenant: c.tenant, method: c.method, params: c.forwarded ?? c.params });
  });

  it('leaves the caller’s parameters alone', () => {
    const params = Object.freeze({ ...user, database: 'acme.app', options: '--cluster=acme -c a=b' });
    identifyTenant(params, undefined);
    expect(params).toEqual({ ...user, database: 'acme.app', options: '--cluster=acme -c a=b' });
  });

  it('works on the parameters of a real startup packet, whose keys include __proto__', () => {
    const body = Buffer.from('\0\x03\0\0user\0alice\0__proto__\0x\0options\0--cluster=acme -c a=b\0\0', 'latin1');
    const len = Buffer.alloc(4);
    len.writeInt32BE(body.length + 4);
    const [packet] = new FrontendParser().feed(Buffer.concat([len, body])) as StartupPacket[];
    if (packet?.type !== 'startup') throw new Error('expected a startup packet');
    const r = identifyTenant(packet.params, undefined);
    if (!r.ok) throw new Error(r.message);
    expect(r.tenant).toBe('acme');
    expect(Object.entries(r.params)).toEqual([['user', 'alice'], ['__proto__', 'x'], ['options', '-c a=b']]);
  });

  it('answers every refusal with SQLSTATE 08004', () => {
    expect(Object.values(IDENTIFY_SQLSTATE)).toEqual(['08004', '08004', '08004']);
  });
});
