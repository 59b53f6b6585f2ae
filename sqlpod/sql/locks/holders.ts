// What an advisory lock's record says and the decisions over it, without
// I/O. A record lists the sessions holding the lock, each with a lease: a
// pod renews its sessions' leases while it runs, so a holder whose lease
// ran out belongs to a pod that crashed or lost storage, and counts as gone.
import { z } from 'zod';

export type LockMode = 'exclusive' | 'shared';

const holderSchema = z.object({
  /** `<pod id>/<session number>`: unique per session across the tenant's pods. */
  owner: z.string().min(1),
  mode: z.enum(['exclusive', 'shared']),
  /** Lease end, milliseconds since the epoch (the holder pod's clock). */
  expires: z.number().int(),
});

const recordSchema = z.object({ holders: z.array(holderSchema) });

export type Holder = z.infer<typeof holderSchema>;

export function parseHolders(raw: Buffer | null): Holder[] {
  if (raw === null) return [];
  const parsed = recordSchema.safeParse(JSON.parse(raw.toString('utf8')));
  if (!parsed.success) throw new Error(`advisory lock record is corrupt: ${parsed.error.message}`);
  return parsed.data.holders;
}

export function encodeHolders(holders: readonly Holder[]): Buffer {
  return Buffer.from(JSON.stringify({ holders }), 'utf8');
}

/** Whether `owner` may take the lock in `mode` now: no live holder of another session conflicts (shared only conflicts with exclusive). */
export function canAcquire(holders: readonly Holder[], now: number, owner: string, mode: LockMode): boolean {
  return !holders.some((h) => h.owner !== owner && h.expires > now && (mode === 'exclusive' || h.mode === 'exclusive'));
}

/** The holders once `owner` holds the lock in `mode` until `expires`; expired holders are dropped. */
export function withHolder(holders: readonly Holder[], now: number, owner: string, mode: LockMode, expires: number): Holder[] {
  return [...holders.filter((h) => h.expires > now && !(h.owner === owner && h.mode === mode)), { owner, mode, expires }];
}

export function withoutHolder(holders: readonly Holder[], owner: string, mode: LockMode): Holder[] {
  return holders.filter((h) => !(h.owner === owner && h.mode === mode));
}

/**
 * Leases extended to `expires` for the holders this pod still has (`held`
 * says which owner holds which mode). A holder is never added back: if its
 * lease ran out and another session took the lock, that session has it.
 */
export function renewed(holders: readonly Holder[], held: (owner: string, mode: LockMode) => boolean, expires: number): Holder[] {
  return holders.map((h) => (held(h.owner, h.mode) && h.expires < expires ? { ...h, expires } : h));
}
