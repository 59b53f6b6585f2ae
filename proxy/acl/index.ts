// Per-tenant access control by client address: allow and deny lists of CIDRs
// (IPv4 and IPv6). Deny wins; an empty or missing allow list allows every
// address; a tenant absent from the file is unrestricted. An IPv4 client seen
// through a dual-stack socket (::ffff:1.2.3.4) is matched as IPv4, so one
// rule covers both ways of reaching the proxy.
import { isIP } from 'node:net';
import { z } from 'zod';
import { parseJsonFile, tenantRecord } from '../files/index.js';

/** What PostgreSQL answers when no pg_hba.conf entry lets a host in. */
export const ACL_SQLSTATE = '28000';

export interface Cidr {
  family: 4 | 6;
  network: bigint;
  prefix: number;
  /** As written in the file, for messages. */
  text: string;
}

export interface TenantAcl {
  allow: readonly Cidr[];
  deny: readonly Cidr[];
}

export interface Acl {
  tenants: ReadonlyMap<string, TenantAcl>;
}

/** No file: nobody is restricted. */
export const NO_ACL: Acl = { tenants: new Map() };

export type AclDecision = { allowed: true } | { allowed: false; reason: string };

const BITS = { 4: 32, 6: 128 } as const;
const MAPPED_V4 = 0xffffn << 32n; // ::ffff:0:0/96

function ipv4Value(text: string): bigint {
  return text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

function ipv6Value(text: string): bigint {
  const groups = (part: string): string[] =>
    part === ''
      ? []
      : part.split(':').flatMap((g) => {
          if (!g.includes('.')) return [g];
          const v = Number(ipv4Value(g));
          return [(v >>> 16).toString(16), (v & 0xffff).toString(16)];
        });
  const [head = '', tail] = text.split('::');
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = [...h, ...Array<string>(tail === undefined ? 0 : 8 - h.length - t.length).fill('0'), ...t];
  return all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** Undefined for anything that is not a plain IPv4 or IPv6 address (zones are the caller's concern). */
function parseAddress(text: string): { family: 4 | 6; value: bigint } | undefined {
  const family = isIP(text);
  if (family === 4) return { family, value: ipv4Value(text) };
  if (family !== 6 || text.includes('%')) return undefined;
  const value = ipv6Value(text);
  return value >> 32n === 0xffffn ? { family: 4, value: value - MAPPED_V4 } : { family, value };
}

function formatNetwork(family: 4 | 6, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((s) => ((value >> s) & 0xffffn).toString(16));
  // RFC 5952: compress the longest run (of two or more) of zero groups.
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (groups[j] === '0') j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j + 1;
  }
  if (best.at < 0) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.len).join(':')}`;
}

const mask = (family: 4 | 6, prefix: number): bigint =>
  ((1n << BigInt(BITS[family])) - 1n) ^ ((1n << BigInt(BITS[family] - prefix)) - 1n);

/** `10.0.0.0/8`, `2001:db8::/32`, or a bare address (one host). Returns an error message instead when malformed. */
export function parseCidr(text: string): Cidr | string {
  const [addressText = '', prefixText, extra] = text.split('/');
  if (extra !== undefined) return `"${text}" is not a CIDR (more than one "/")`;
  const address = parseAddress(addressText);
  if (!address) return `"${text}": "${addressText}" is not an IPv4 or IPv6 address`;
  const written = isIP(addressText) === 6 ? 6 : 4; // the prefix counts bits of the notation used
  const max = BITS[written];
  const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix >= 0 && prefix <= max)) return `"${text}": prefix length must be an integer from 0 to ${max}`;
  if (written === 6 && address.family === 4 && prefix < 96) {
    return `"${text}": a prefix shorter than /96 reaches beyond IPv4-mapped addresses; write IPv6 and IPv4 rules separately`;
  }
  const family = address.family;
  const bits = family === written ? prefix : prefix - 96;
  const network = address.value & mask(family, bits);
  if (network !== address.value) {
    return `"${text}": address has bits set after the /${prefix} prefix; did you mean ${formatNetwork(family, network)}/${bits}?`;
  }
  return { family, network, prefix: bits, text };
}

const cidrList = z.array(
  z.string().transform((text, ctx) => {
    const cidr = parseCidr(text);
    if (typeof cidr !== 'string') return cidr;
    ctx.addIssue({ code: 'custom', message: cidr });
    return z.NEVER;
  }),
);

const aclFileSchema = z.strictObject({
  tenants: tenantRecord(z.strictObject({ allow: cidrList.optional(), deny: cidrList.optional() })),
});

/** Parses the ACL file (JSON: `{ "tenants": { "<name>": { "allow": [...], "deny": [...] } } }`); throws FileFormatError listing every problem. */
export function parseAclFile(text: string): Acl {
  const file = parseJsonFile(text, aclFileSchema, 'ACL file');
  return {
    tenants: new Map(Object.entries(file.tenants).map(([name, t]) => [name, { allow: t.allow ?? [], deny: t.deny ?? [] }])),
  };
}

const matches = (cidr: Cidr, addr: { family: 4 | 6; value: bigint }): boolean =>
  cidr.family === addr.family && (addr.value & mask(cidr.family, cidr.prefix)) === cidr.network;

/** May a client at `ip` (as the socket reports it, zone and all) connect to `tenant`? */
export function decide(acl: Acl, tenant: string, ip: string): AclDecision {
  const rules = acl.tenants.get(tenant);
  if (!rules || (rules.allow.length === 0 && rules.deny.length === 0)) return { allowed: true };
  const addr = parseAddress(ip.replace(/%.*$/, ''));
  if (!addr) return { allowed: false, reason: `client address "${ip}" is not an IP address, and tenant ${tenant} has access rules` };
  const denied = rules.deny.find((c) => matches(c, addr));
  if (denied) return { allowed: false, reason: `client address ${ip} is denied access to tenant ${tenant} by ${denied.text}` };
  if (rules.allow.length > 0 && !rules.allow.some((c) => matches(c, addr))) {
    return { allowed: false, reason: `client address ${ip} is not in the allow list of tenant ${tenant}` };
  }
  return { allowed: true };
}
