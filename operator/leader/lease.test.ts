import { describe, expect, it } from 'vitest';
import { decide, formatMicroTime, leaseDurationSeconds, leaseExpiresAtMs, leaseSchema, parseMicroTime, releaseSpec, type Lease, type LeaseSpec } from './lease.js';

const T0 = Date.parse('2026-12-04T13:37:40.000Z');
const NOW = T0 + 10_000;
const D = 15_000;
const at = (ms: number) => formatMicroTime(ms);
const lease = (spec: LeaseSpec): Lease => ({ metadata: { name: 'shoal-operator', namespace: 'shoal', resourceVersion: '42' }, spec });
const held = (holderIdentity: string | null | undefined, renewedMs: number | null, extra: LeaseSpec = {}): Lease =>
  lease({ holderIdentity, leaseDurationSeconds: 15, acquireTime: at(T0 - 60_000), renewTime: renewedMs === null ? undefined : at(renewedMs), leaseTransitions: 3, ...extra });

describe('MicroTime', () => {
  it.each<[number, string]>([
    [0, '1970-01-01T00:00:00.000000Z'],
    [Date.parse('2026-12-04T13:37:43.123Z'), '2026-12-04T13:37:43.123000Z'],
    [Date.parse('2026-12-31T23:59:59.999Z'), '2026-12-31T23:59:59.999000Z'],
  ])('formats %d as %s, with the six fraction digits the API server insists on', (ms, text) => {
    expect(formatMicroTime(ms)).toBe(text);
    expect(parseMicroTime(text)).toBe(ms);
  });

  it.each<[string | null | undefined, number | null]>([
    ['2026-12-04T13:37:43.123456Z', Date.parse('2026-12-04T13:37:43.123Z')],
    ['2026-12-04T13:37:43.999999Z', Date.parse('2026-12-04T13:37:43.999Z')],
    ['2026-12-04T13:37:43.123456789Z', Date.parse('2026-12-04T13:37:43.123Z')],
    ['2026-12-04T13:37:43.1Z', Date.parse('2026-12-04T13:37:43.100Z')],
    ['2026-12-04T13:37:43Z', Date.parse('2026-12-04T13:37:43.000Z')],
    ['2026-12-04T15:37:43.500000+02:00', Date.parse('2026-12-04T13:37:43.500Z')],
    ['2026-12-04t13:37:43.000000z', Date.parse('2026-12-04T13:37:43.000Z')],
    ['2026-13-04T13:37:43.000000Z', null],
    ['2026-12-04 13:37:43Z', null],
    ['yesterday', null],
    ['', null],
    [null, null],
    [undefined, null],
  ])('parses %s', (text, ms) => {
    expect(parseMicroTime(text)).toBe(ms);
  });

  it.each<[number, number]>([
    [1500, 2],
    [15_000, 15],
    [15_001, 16],
    [200, 1],
  ])('writes a %d ms lease as %d whole seconds, never less', (ms, s) => {
    expect(leaseDurationSeconds(ms)).toBe(s);
  });
});

describe('leaseExpiresAtMs', () => {
  it.each<[string, LeaseSpec, number, number]>([
    ['renewTime plus the lease\'s own duration', { renewTime: at(T0), leaseDurationSeconds: 60 }, NOW, T0 + 60_000],
    ['the elector\'s duration when the lease has none', { renewTime: at(T0) }, NOW, T0 + D],
    ['the elector\'s duration when the lease says 0', { renewTime: at(T0), leaseDurationSeconds: 0 }, NOW, T0 + D],
    ['first sight when renewTime is missing', { leaseDurationSeconds: 15 }, NOW, NOW + 15_000],
    ['first sight when renewTime is unreadable', { renewTime: 'soon', leaseDurationSeconds: 15 }, NOW, NOW + 15_000],
    ['first sight when renewTime is ahead of our clock', { renewTime: at(NOW + 3_600_000), leaseDurationSeconds: 15 }, NOW, NOW + 15_000],
    ['first sight when that was earlier than renewTime', { renewTime: at(NOW), leaseDurationSeconds: 15 }, NOW - 5000, NOW + 10_000],
  ])('%s', (_name, spec, seenAtMs, expected) => {
    expect(leaseExpiresAtMs(spec, seenAtMs, D)).toBe(expected);
  });
});

describe('decide', () => {
  const me = 'operator-a';
  type Row = [string, Lease | null, { now?: number; seenAt?: number; duration?: number }, Record<string, unknown>];
  it.each<Row>([
    ['no lease: create it, term 0', null, {}, { action: 'create', leader: null, expiresAtMs: NOW + D, spec: { holderIdentity: me, leaseDurationSeconds: 15, acquireTime: at(NOW), renewTime: at(NOW), leaseTransitions: 0 } }],
    ['no lease, 1.5 s duration: written as 2 s, expiry by what was written', null, { duration: 1500 }, { action: 'create', expiresAtMs: NOW + 2000, spec: { leaseDurationSeconds: 2 } }],
    ['mine and valid: renew, keeping acquireTime and the transition count', held(me, NOW - 2000), {}, { action: 'renew', leader: me, expiresAtMs: NOW + D, spec: { holderIdentity: me, acquireTime: at(T0 - 60_000), renewTime: at(NOW), leaseTransitions: 3 } }],
    ['mine but expired: still a renew (nobody led since), not a transition', held(me, NOW - 60_000), {}, { action: 'renew', leader: null, spec: { acquireTime: at(T0 - 60_000), renewTime: at(NOW), leaseTransitions: 3 } }],
    ['mine without acquireTime or transitions: filled in', lease({ holderIdentity: me, renewTime: at(NOW - 1000) }), {}, { action: 'renew', spec: { acquireTime: at(NOW), leaseTransitions: 0, leaseDurationSeconds: 15 } }],
    ['another holder, valid: follow until its expiry', held('operator-b', NOW - 2000), {}, { action: 'follow', leader: 'operator-b', expiresAtMs: NOW - 2000 + 15_000 }],
    ['another holder at the exact expiry instant: still valid', held('operator-b', NOW - 15_000), {}, { action: 'follow', leader: 'operator-b', expiresAtMs: NOW }],
    ['another holder 1 ms past expiry: take over, one more transition', held('operator-b', NOW - 15_001), {}, { action: 'takeover', leader: null, expiresAtMs: NOW + D, spec: { holderIdentity: me, acquireTime: at(NOW), renewTime: at(NOW), leaseTransitions: 4, leaseDurationSeconds: 15 } }],
    ['released (empty holder) with a fresh renewTime: take over at once', held('', NOW, { leaseDurationSeconds: 1 }), {}, { action: 'takeover', leader: null, spec: { holderIdentity: me, leaseTransitions: 4, leaseDurationSeconds: 15 } }],
    ['no holder at all: take over', held(null, NOW), {}, { action: 'takeover', spec: { holderIdentity: me, leaseTransitions: 4 } }],
    ['holder field absent and no transitions yet: take over as transition 1', lease({ renewTime: at(NOW) }), {}, { action: 'takeover', spec: { leaseTransitions: 1 } }],
    ['the lease\'s own longer duration wins over ours', held('operator-b', NOW - 20_000, { leaseDurationSeconds: 60 }), {}, { action: 'follow', expiresAtMs: NOW + 40_000 }],
    ['the lease\'s own shorter duration too', held('operator-b', NOW - 2000, { leaseDurationSeconds: 1 }), {}, { action: 'takeover' }],
    ['no renewTime, first seen now: follow a full duration', held('operator-b', null), {}, { action: 'follow', expiresAtMs: NOW + 15_000 }],
    ['no renewTime, unchanged for exactly the duration: still valid', held('operator-b', null), { seenAt: NOW - 15_000 }, { action: 'follow', expiresAtMs: NOW }],
    ['no renewTime, unchanged for longer: take over', held('operator-b', null), { seenAt: NOW - 15_001 }, { action: 'takeover' }],
    ['renewTime an hour ahead (skewed writer), just seen: follow', held('operator-b', NOW + 3_600_000), {}, { action: 'follow', expiresAtMs: NOW + 15_000 }],
    ['renewTime an hour ahead, unchanged past a duration: take over, not wait the hour', held('operator-b', NOW + 3_600_000), { seenAt: NOW - 15_001 }, { action: 'takeover' }],
    ['old renewTime first seen now (a crashed leader\'s lease): take over at once', held('operator-b', NOW - 600_000), {}, { action: 'takeover' }],
  ])('%s', (_name, observed, { now = NOW, seenAt, duration = D }, expected) => {
    expect(decide(observed, me, now, duration, seenAt ?? now)).toMatchObject(expected);
  });

  it('keeps fields it does not know (strategy, preferredHolder) when writing', () => {
    const d = decide(held('operator-b', NOW - 60_000, { strategy: 'OldestEmulationVersion', preferredHolder: 'operator-c' }), me, NOW, D);
    expect(d.action).toBe('takeover');
    expect(d.action !== 'follow' && d.spec).toMatchObject({ strategy: 'OldestEmulationVersion', preferredHolder: 'operator-c', holderIdentity: me });
  });

  it('without seenAtMs, a lease with no usable renewTime is followed (never taken on a guess)', () => {
    expect(decide(held('operator-b', null), me, NOW, D).action).toBe('follow');
  });

  it('a renew is valid for every follower exactly as long as the leader said', () => {
    const renewed = decide(held(me, NOW - 1000), me, NOW, 1500);
    if (renewed.action === 'follow') throw new Error('expected a write');
    const written = lease(renewed.spec);
    expect(decide(written, 'operator-b', renewed.expiresAtMs, 1500).action).toBe('follow');
    expect(decide(written, 'operator-b', renewed.expiresAtMs + 1, 1500).action).toBe('takeover');
    expect(renewed.expiresAtMs).toBe(NOW + 2000);
  });
});

describe('releaseSpec', () => {
  it('empties the holder, shortens the duration, and keeps the history', () => {
    const spec = releaseSpec(held('operator-a', NOW - 1000).spec, NOW);
    expect(spec).toEqual({ holderIdentity: '', leaseDurationSeconds: 1, acquireTime: at(T0 - 60_000), renewTime: at(NOW), leaseTransitions: 3 });
    expect(decide(lease(spec), 'operator-b', NOW, D)).toMatchObject({ action: 'takeover', spec: { holderIdentity: 'operator-b', leaseTransitions: 4 } });
  });
});

describe('leaseSchema', () => {
  it('reads a Lease as the API server returns it, keeping what it does not model for the PUT', () => {
    const raw = {
      kind: 'Lease',
      apiVersion: 'coordination.k8s.io/v1',
      metadata: { name: 'a', namespace: 'default', resourceVersion: '68', managedFields: [{ manager: 'unknown', operation: 'Update' }] },
      spec: { holderIdentity: '', leaseDurationSeconds: 1, preferredHolder: 'x' },
    };
    expect(leaseSchema.parse(raw)).toEqual(raw);
  });

  it('gives a Lease without a spec an empty one', () => {
    expect(leaseSchema.parse({ metadata: { name: 'f' } }).spec).toEqual({});
  });

  it('refuses a fractional duration, as the API server would', () => {
    expect(leaseSchema.safeParse({ metadata: { name: 'g' }, spec: { leaseDurationSeconds: 1.5 } }).success).toBe(false);
  });
});
