// Callbacks for metrics and the pod's lifecycle. A hook that throws is logged
// and otherwise ignored: counting must never break a client's session.
import type { Logger } from '../../shared/log/index.js';

/** Why a connection ended before it became a session. */
export type RefusalReason =
  | 'draining'
  | 'too-many-connections'
  | 'tls-required'
  | 'authentication-failed'
  | 'session-refused'
  | 'protocol-violation'
  | 'shutdown';

export interface PgServerHooks {
  /** A statement starts executing; `kind` as ParsedStatement.kind (e.g. 'SELECT'). */
  onStatement?: (kind: string) => void;
  /** An ErrorResponse was sent, with this SQLSTATE. */
  onError?: (sqlstate: string) => void;
  onSessionOpened?: () => void;
  onSessionClosed?: () => void;
  /** The number of admitted connections (sessions, and clients still authenticating) changed; a draining pod exits at 0. */
  onSessionCountChange?: (count: number) => void;
  onConnectionRefused?: (reason: RefusalReason) => void;
}

export type SafeHooks = Required<PgServerHooks>;

export function safeHooks(hooks: PgServerHooks, log: Logger): SafeHooks {
  const guard =
    <A extends unknown[]>(name: keyof PgServerHooks, fn: ((...args: A) => void) | undefined) =>
    (...args: A): void => {
      if (!fn) return;
      try {
        fn(...args);
      } catch (err) {
        log.warn({ err, hook: name }, 'server hook threw');
      }
    };
  return {
    onStatement: guard('onStatement', hooks.onStatement),
    onError: guard('onError', hooks.onError),
    onSessionOpened: guard('onSessionOpened', hooks.onSessionOpened),
    onSessionClosed: guard('onSessionClosed', hooks.onSessionClosed),
    onSessionCountChange: guard('onSessionCountChange', hooks.onSessionCountChange),
    onConnectionRefused: guard('onConnectionRefused', hooks.onConnectionRefused),
  };
}
