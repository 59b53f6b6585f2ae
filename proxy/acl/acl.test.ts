import { describe, expect, it } from 'vitest';
import { FileFormatError } from '../files/index.js';
import { ACL_SQLSTATE, NO_ACL, decide, parseAclFile, parseCidr } from './index.js';

describe('parseCidr', () => {
  const good: [string, { family: 4 | 6; prefix: number; network: bigint }][] = [
    ['10.0.0.0/8', { family: 4, prefix: 8, network: 0x0a000000n }],
    ['0.0.0.0/0', { family: 4, prefix: 0, network: 0n }],
    ['192.168.1.7', { family: 4, prefix: 32, network: 0xc0a80107n }],
    ['2001:db8::/32', { family: 6, prefix: 32, network: 0x20010db8n << 96n }],
    ['::/0', { family: 6, prefix: 0, network: 0n }],
    ['::1', { family: 6, prefix: 128, network: 1n }],
    ['fe80::1:2/128', { family: 6, prefix: 128, network: (0xfe80n << 112n) | 0x10002n }],
    ['64:ff9b::10.0.0.0/120', { family: 6, prefix: 120, network: (0x64n << 112n) | (0xff9bn << 96n) | 0x0a000000n }],
    ['::ffff:10.0.0.0/104', { family: 4, prefix: 8, network: 0x0a000000n }],
    ['::ffff:1.2.3.4', { family: 4, prefix: 32, network: 0x01020304n }],
  ];
  it.each(good)('%s', (text, want) => {
    expect(parseCidr(text)).toEqual({ ...want, text });
  });

  const bad: [string, string][] = [
    ['10.0.0.0/33', 'prefix length must be an integer from 0 to 32'],
    ['2001:db8::/129', 'from 0 to 128'],
    ['10.0.0.0/-1', 'prefix length'],
    ['10.0.0.0/', 'prefix length'],
    ['10.0.0.0/8/8', 'more than one "/"'],
    ['10.0.0/8', 'is not an IPv4 or IPv6 address'],
    ['010.0.0.0/8', 'is not an IPv4 or IPv6 address'],
    ['example.com/8', 'is not an IPv4 or IPv6 address'],
    ['fe80::1%eth0/64', 'is not an IPv4 or IPv6 address'],
    ['', 'is not an IPv4 or IPv6 address'],
    ['10.0.0.1/8', 'did you mean 10.0.0.0/8?'],
    ['2001:db8::1/32', 'did you mean 2001:db8::/32?'],
    ['2001:db8:0:0:1:0:0:1/64', 'did you mean 2001:db8::/64?'],
    ['::ffff:10.0.0.1/104', 'did you mean 10.0.0.0/8?'],
    ['::ffff:10.0.0.0/64', 'beyond IPv4-mapped addresses'],
  ];
  it.each(bad)('%s is refused', (text, message) => {
    expect(parseCidr(text)).toContain(message);
  });
});

describe('decide', () => {
  const acl = parseAclFile(
    JSON.stringify({
      tenants: {
        acme: { allow: ['10.0.0.0/8', '2001:db8::/32'], deny: ['10.1.0.0/16', '2001:db8:bad::/48'] },
        'deny-only': { deny: ['192.0.2.0/24'] },
        'allow-v4': { allow: ['192.0.2.0/24'] },
        open: {},
        'open-lists': { allow: [], deny: [] },
      },
    }),
  );

  const cases: [string, string, string, boolean][] = [
    ['allow list admits', 'acme', '10.2.3.4', true],
    ['outside the allow list', 'acme', '11.0.0.1', false],
    ['deny wins over allow', 'acme', '10.1.2.3', false],
    ['IPv6 in the allow list', 'acme', '2001:db8:1::5', true],
    ['IPv6 deny wins', 'acme', '2001:db8:bad::5', false],
    ['IPv6 outside', 'acme', '2001:db9::1', false],
    ['IPv4-mapped IPv6 matches the IPv4 rule', 'acme', '::ffff:10.2.3.4', true],
    ['IPv4-mapped IPv6 in hex matches too', 'acme', '::ffff:a02:304', true],
    ['IPv4-mapped IPv6 is denied by the IPv4 rule', 'acme', '::ffff:10.1.2.3', false],
    ['an IPv6 zone is ignored', 'acme', '2001:db8::1%eth0', true],
    ['unparseable address fails closed when there are rules', 'acme', 'not-an-ip', false],
    ['deny only: everyone else is allowed', 'deny-only', '198.51.100.1', true],
    ['deny only: denied', 'deny-only', '192.0.2.9', false],
    ['IPv4 allow list does not admit IPv6', 'allow-v4', '2001:db8::1', false],
    ['tenant with empty rules', 'open', '203.0.113.1', true],
    ['tenant with empty lists', 'open-lists', 'not-an-ip', true],
    ['tenant not in the file', 'zeta', '203.0.113.1', true],
  ];
  it.each(cases)('%s', (_name, tenant, ip, allowed) => {
    const d = decide(acl, tenant, ip);
    expect(d.allowed).toBe(allowed);
    if (!d.allowed) expect(d.reason).toContain(tenant);
  });

  it('names the denying rule in the reason', () => {
    expect(decide(acl, 'acme', '10.1.2.3')).toEqual({ allowed: false, reason: 'client address 10.1.2.3 is denied access to tenant acme by 10.1.0.0/16' });
  });

  it('without a file, admits everyone', () => {
    expect(decide(NO_ACL, 'acme', '10.1.2.3')).toEqual({ allowed: true });
  });

  it('refuses like pg_hba.conf does', () => {
    expect(ACL_SQLSTATE).toBe('28000');
  });
});

describe('parseAclFile', () => {
  const problems = (text: string): readonly string[] => {
    try {
      parseAclFile(text);
    } catch (err) {
      if (err instanceof FileFormatError) return err.problems;
      throw err;
    }
    throw new Error('expected a FileFormatError');
  };

  it('reads allow and deny lists; both are optional', () => {
    const acl = parseAclFile('{"tenants":{"acme":{"allow":["10.0.0.0/8"]},"zeta":{}}}');
    expect(acl.tenants.get('acme')?.allow.map((c) => c.text)).toEqual(['10.0.0.0/8']);
    expect(acl.tenants.get('acme')?.deny).toEqual([]);
    expect(acl.tenants.get('zeta')).toEqual({ allow: [], deny: [] });
  });

  const cases: [string, string, string[]][] = [
    ['not JSON', '{tenants', ['not valid JSON (']],
    ['no tenants', '{}', ['tenants:']],
    ['unknown top-level key', '{"tenants":{},"tenant":{}}', ['Unrecognized key: "tenant"']],
    ['misspelt list name', '{"tenants":{"acme":{"alow":["10.0.0.0/8"]}}}', ['tenants.acme: Unrecognized key: "alow"']],
    ['list is not an array', '{"tenants":{"acme":{"allow":"10.0.0.0/8"}}}', ['tenants.acme.allow:']],
    [
      'every bad CIDR, with where it is',
      '{"tenants":{"acme":{"allow":["10.0.0.0/8","10.0.0.1/8"],"deny":["300.0.0.0/8"]}}}',
      ['tenants.acme.allow[1]: "10.0.0.1/8"', 'tenants.acme.deny[0]: "300.0.0.0/8"'],
    ],
    [
      'invalid tenant names, and their values still checked',
      '{"tenants":{"Acme":{"allow":["x"]}}}',
      ['tenants.Acme.allow[0]: "x"', 'tenants.Acme: "Acme" is not a valid tenant name'],
    ],
  ];
  it.each(cases)('%s', (_name, text, want) => {
    const got = problems(text);
    expect(got).toHaveLength(want.length);
    want.forEach((w, i) => expect(got[i]).toContain(w));
  });
});
