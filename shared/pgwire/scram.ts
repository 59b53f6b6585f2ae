import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { PgWireError, SQLSTATE } from './errors.js';

export const SCRAM_MECHANISM = 'SCRAM-SHA-256';
export const DEFAULT_SCRAM_ITERATIONS = 4096;
const SALT_LEN = 16;
const NONCE_LEN = 18;
const KEY_LEN = 32;

export interface ScramVerifier {
  iterations: number;
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

const hmac = (key: Buffer, data: string | Buffer): Buffer => createHmac('sha256', key).update(data).digest();
const sha256 = (data: Buffer): Buffer => createHash('sha256').update(data).digest();

/**
 * Approximates SASLprep (RFC 4013) as libpq applies it: map non-ASCII spaces
 * to ' ', drop characters mapped to nothing, NFKC. The prohibited-character
 * and bidi checks are left out; where they would fail, libpq falls back to
 * the raw password, which for ASCII is what we use anyway.
 */
function saslPrep(password: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(password)) return password;
  return password
    .replace(/[\u00a0\u1680\u2000-\u200b\u202f\u205f\u3000]/g, ' ')
    .replace(/\u00ad|\u034f|\u1806|[\u180b-\u180d]|\u200c|\u200d|\u2060|[\ufe00-\ufe0f]|\ufeff/g, '')
    .normalize('NFKC');
}

/** Builds a verifier in PostgreSQL's pg_authid format; the password itself is not recoverable from it. */
export function hashPassword(password: string, iterations = DEFAULT_SCRAM_ITERATIONS, salt: Buffer = randomBytes(SALT_LEN)): string {
  if (!Number.isInteger(iterations) || iterations < 1) throw new RangeError('iterations must be a positive integer');
  const salted = pbkdf2Sync(saslPrep(password), salt, iterations, KEY_LEN, 'sha256');
  const storedKey = sha256(hmac(salted, 'Client Key'));
  const serverKey = hmac(salted, 'Server Key');
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

const B64 = '[A-Za-z0-9+/]+={0,2}';
const VERIFIER_RE = new RegExp(`^SCRAM-SHA-256\\$(\\d+):(${B64})\\$(${B64}):(${B64})$`);

/** Returns undefined for anything that is not a well-formed SCRAM-SHA-256 verifier. */
export function parseVerifier(verifier: string): ScramVerifier | undefined {
  const m = VERIFIER_RE.exec(verifier);
  if (!m) return undefined;
  const iterations = Number(m[1]);
  const salt = Buffer.from(m[2] ?? '', 'base64');
  const storedKey = Buffer.from(m[3] ?? '', 'base64');
  const serverKey = Buffer.from(m[4] ?? '', 'base64');
  if (!Number.isSafeInteger(iterations) || iterations < 1 || salt.length === 0) return undefined;
  if (storedKey.length !== KEY_LEN || serverKey.length !== KEY_LEN) return undefined;
  return { iterations, salt, storedKey, serverKey };
}

/** Whether `password` is the one `verifier` was made from (false for a malformed verifier). Costs one PBKDF2. */
export function verifyPassword(verifier: string, password: string): boolean {
  const stored = parseVerifier(verifier);
  if (!stored) return false;
  const computed = parseVerifier(hashPassword(password, stored.iterations, stored.salt));
  return computed !== undefined && timingSafeEqual(stored.storedKey, computed.storedKey) && timingSafeEqual(stored.serverKey, computed.serverKey);
}

/** Per-process secret that makes mock salts stable per user name, yet unpredictable. */
const PROCESS_MOCK_SECRET = randomBytes(32);

/**
 * A verifier for a user that does not exist. Its salt depends only on the
 * name and a secret, so repeated attempts see the same salt as for a real
 * user; its keys are random, so no proof can match.
 */
function mockVerifier(username: string, secret: Buffer): ScramVerifier {
  const salt = createHash('sha256').update(secret).update(username).digest().subarray(0, SALT_LEN);
  return { iterations: DEFAULT_SCRAM_ITERATIONS, salt, storedKey: randomBytes(KEY_LEN), serverKey: randomBytes(KEY_LEN) };
}

const malformed = (why: string): PgWireError => new PgWireError(SQLSTATE.PROTOCOL_VIOLATION, `malformed SCRAM message: ${why}`);

/** printable except ',' (RFC 5802 "printable"). */
const NONCE_RE = /^[\x21-\x2b\x2d-\x7e]+$/;

export interface ScramServerOptions {
  /** User name from the startup packet; SCRAM's own n= is ignored, as the server does. */
  username: string;
  /** Stored verifier; undefined (unknown user) or malformed runs the same exchange and fails at the proof. */
  verifier: string | undefined;
  /** Secret for mock salts; defaults to one per process. Share it across replicas for consistent salts. */
  mockSecret?: Buffer;
  /** Fixed server nonce part; only for known-answer tests, never in production. */
  serverNonce?: string;
}

/**
 * Server side of one SCRAM-SHA-256 exchange, without channel binding (we
 * advertise only SCRAM-SHA-256, never -PLUS). Feed it the client's SASL
 * payloads in order; any failure throws PgWireError and ends the exchange.
 */
export class ScramServer {
  private readonly verifier: ScramVerifier;
  private readonly doomed: boolean;
  private state: 'initial' | 'first-sent' | 'done' = 'initial';
  private gs2Header = '';
  private nonce = '';
  private clientFirstBare = '';
  private serverFirst = '';

  constructor(private readonly options: ScramServerOptions) {
    const parsed = options.verifier === undefined ? undefined : parseVerifier(options.verifier);
    this.doomed = parsed === undefined;
    this.verifier = parsed ?? mockVerifier(options.username, options.mockSecret ?? PROCESS_MOCK_SECRET);
  }

  /** Takes client-first-message (the SASLInitialResponse data), returns server-first-message. */
  clientFirst(message: Buffer | string): string {
    if (this.state !== 'initial') throw malformed('unexpected client-first-message');
    this.state = 'done';
    const text = message.toString();
    const m = /^([^,]*),([^,]*),(.*)$/s.exec(text);
    if (!m) throw malformed('missing GS2 header');
    const [, cbind = '', authzid = '', bare = ''] = m;
    if (cbind.startsWith('p=')) {
      throw malformed('client requires channel binding, but the server offers only SCRAM-SHA-256 without it');
    }
    if (cbind !== 'n' && cbind !== 'y') throw malformed(`unexpected channel-binding flag "${cbind}"`);
    if (authzid !== '') throw new PgWireError(SQLSTATE.FEATURE_NOT_SUPPORTED, 'client uses authorization identity, but it is not supported');
    const attrs = bare.split(',');
    if (attrs[0]?.startsWith('m=')) throw malformed('client requires an unsupported SCRAM extension');
    if (!attrs[0]?.startsWith('n=')) throw malformed('expected attribute "n"');
    const clientNonce = attrs[1]?.startsWith('r=') ? attrs[1].slice(2) : '';
    if (!NONCE_RE.test(clientNonce)) throw malformed('missing or invalid client nonce');

    this.gs2Header = `${cbind},${authzid},`;
    this.clientFirstBare = bare;
    this.nonce = clientNonce + (this.options.serverNonce ?? randomBytes(NONCE_LEN).toString('base64'));
    this.serverFirst = `r=${this.nonce},s=${this.verifier.salt.toString('base64')},i=${this.verifier.iterations}`;
    this.state = 'first-sent';
    return this.serverFirst;
  }

  /** Takes client-final-message (SASLResponse data), returns server-final-message for SASLFinal. */
  clientFinal(message: Buffer | string): string {
    if (this.state !== 'first-sent') throw malformed('unexpected client-final-message');
    this.state = 'done';
    const text = message.toString();
    const proofAt = text.lastIndexOf(',p=');
    if (proofAt < 0) throw malformed('missing client proof');
    const withoutProof = text.slice(0, proofAt);
    const proof = Buffer.from(text.slice(proofAt + 3), 'base64');
    const attrs = withoutProof.split(',');
    const cb = attrs[0]?.startsWith('c=') ? Buffer.from(attrs[0].slice(2), 'base64').toString('latin1') : undefined;
    // 'biws' for "n,,", 'eSws' for "y,,": the client must repeat the header it began with.
    if (cb !== this.gs2Header) throw malformed('unexpected channel binding data');
    if (attrs[1] !== `r=${this.nonce}`) throw malformed('nonce does not match');
    if (proof.length !== KEY_LEN) throw malformed('invalid client proof');

    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const signature = hmac(this.verifier.storedKey, authMessage);
    const clientKey = Buffer.alloc(KEY_LEN);
    for (let i = 0; i < KEY_LEN; i++) clientKey[i] = (proof[i] ?? 0) ^ (signature[i] ?? 0);
    const matches = timingSafeEqual(sha256(clientKey), this.verifier.storedKey);
    if (!matches || this.doomed) {
      throw new PgWireError(SQLSTATE.INVALID_PASSWORD, `password authentication failed for user "${this.options.username}"`);
    }
    return `v=${hmac(this.verifier.serverKey, authMessage).toString('base64')}`;
  }
}
