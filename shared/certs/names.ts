import { isIP } from 'node:net';
import { TENANT_NAME } from '../keys/index.js';

// Ids below 2 are reserved; above 2^53 a JS number no longer names one tenant exactly.
export const isTenantId = (v: unknown): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 2;

/** DNS-1123 label: what Kubernetes accepts as a name, and safe inside a URI path and a file name. */
export const isTenantName = (v: unknown): v is string => typeof v === 'string' && TENANT_NAME.test(v);

export interface HostSan { type: 'dns' | 'ip'; value: string }

const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/i;

function isDnsName(h: string): boolean {
  const labels = h.split('.');
  if (h.length > 253 || labels.length === 0) return false;
  // A leading wildcard only makes sense under a parent with at least two labels.
  const rest = labels[0] === '*' && labels.length > 2 ? labels.slice(1) : labels;
  // An all-numeric last label is a mistyped IP address (e.g. "10.0.1"), not a hostname.
  return rest.every((l) => LABEL.test(l)) && !/^\d+$/.test(rest[rest.length - 1] ?? '');
}

/** IP literal (optionally [bracketed] IPv6) → IP SAN, hostname → DNS SAN, anything else → undefined. */
export function hostSan(host: unknown): HostSan | undefined {
  if (typeof host !== 'string') return undefined;
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const family = isIP(bare);
  if (family === 4) return { type: 'ip', value: bare };
  if (family === 6) {
    // The SAN encoder mangles embedded IPv4 (::ffff:1.2.3.4) and silently drops zone ids;
    // the WHATWG URL parser rewrites the former as pure hex and rejects the latter.
    try {
      return { type: 'ip', value: new URL(`http://[${bare}]/`).hostname.slice(1, -1) };
    } catch {
      return undefined;
    }
  }
  return bare === host && isDnsName(host) ? { type: 'dns', value: host.toLowerCase() } : undefined;
}
