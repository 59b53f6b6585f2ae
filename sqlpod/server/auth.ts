// One client's authentication exchange, method by method. Every credential
// problem (unknown role, no password, no LOGIN, wrong password) ends the same
// way, 28P01 with one message, after the same exchange, so nothing tells a
// prober which of them it hit.
import {
  DEFAULT_SCRAM_ITERATIONS,
  PgWireError,
  SCRAM_MECHANISM,
  SQLSTATE,
  ScramServer,
  decodePasswordMessage,
  decodeSaslInitialResponse,
  hashPassword,
  parseVerifier,
  verifyPassword,
  type BackendWriter,
} from '../../shared/pgwire/index.js';
import type { LoginRole } from '../sql/session-api.js';

export type AuthMethod = 'scram-sha-256' | 'password';

function authenticationFailed(user: string): PgWireError {
  return new PgWireError(SQLSTATE.INVALID_PASSWORD, `password authentication failed for user "${user}"`);
}

export interface AuthenticatorOptions {
  method: AuthMethod;
  /** The user name of the startup packet. */
  user: string;
  /** null when no such role exists. */
  role: LoginRole | null;
  /** Secret behind the fake SCRAM salts of unknown users (see ScramServerOptions). */
  mockSecret?: Buffer;
}

/**
 * Writes the authentication request, then takes each PasswordMessage /
 * SASL payload in turn. Throws PgWireError on failure (fatal for the
 * connection); `next` returns true once the client is authenticated, having
 * written everything but AuthenticationOk.
 */
export class Authenticator {
  private readonly scram: ScramServer | undefined;
  private step: 'initial' | 'final' | 'done' = 'initial';

  constructor(private readonly options: AuthenticatorOptions) {
    if (options.method === 'scram-sha-256') {
      // A role without LOGIN keeps its real verifier so its salt looks like any
      // other role's; it is refused only after the proof checks out.
      this.scram = new ScramServer({
        username: options.user,
        verifier: options.role?.scramVerifier ?? undefined,
        ...(options.mockSecret ? { mockSecret: options.mockSecret } : {}),
      });
    }
  }

  start(w: BackendWriter): void {
    if (this.scram) w.authenticationSasl([SCRAM_MECHANISM]);
    else w.authenticationCleartextPassword();
  }

  next(payload: Buffer, w: BackendWriter): boolean {
    if (this.step === 'done') throw new PgWireError(SQLSTATE.PROTOCOL_VIOLATION, 'unexpected password message after authentication');
    if (!this.scram) {
      this.step = 'done';
      this.checkPassword(decodePasswordMessage(payload));
      return true;
    }
    if (this.step === 'initial') {
      this.step = 'final';
      const { mechanism, data } = decodeSaslInitialResponse(payload);
      if (mechanism !== SCRAM_MECHANISM) {
        throw new PgWireError(SQLSTATE.PROTOCOL_VIOLATION, 'client selected an invalid SASL authentication mechanism');
      }
      if (data === null) throw new PgWireError(SQLSTATE.PROTOCOL_VIOLATION, 'malformed SCRAM message: empty client-first-message');
      w.authenticationSaslContinue(this.scram.clientFirst(data));
      return false;
    }
    this.step = 'done';
    const serverFinal = this.scram.clientFinal(payload);
    if (!this.options.role?.canLogin) throw authenticationFailed(this.options.user);
    w.authenticationSaslFinal(serverFinal);
    return true;
  }

  /**
   * Checks the cleartext password against the role's SCRAM verifier. Without
   * a usable verifier the same work is done against a random salt, so the
   * time taken does not tell which users exist. pbkdf2 runs synchronously
   * here (a few ms at 4096 iterations) because SASLprep lives inside hashPassword.
   */
  private checkPassword(password: string): void {
    const { role, user } = this.options;
    const verifier = role?.scramVerifier ?? '';
    if (parseVerifier(verifier) === undefined) hashPassword(password, DEFAULT_SCRAM_ITERATIONS);
    const matches = verifyPassword(verifier, password);
    // PostgreSQL refuses an empty password outright, whatever is stored.
    if (!matches || password === '' || !role?.canLogin) throw authenticationFailed(user);
  }
}
