/** SQLSTATE codes the wire layer itself raises; the SQL layer has its own, larger set. */
export const SQLSTATE = {
  PROTOCOL_VIOLATION: '08P01',
  FEATURE_NOT_SUPPORTED: '0A000',
  INVALID_AUTHORIZATION_SPECIFICATION: '28000',
  INVALID_PASSWORD: '28P01',
  SYNTAX_ERROR: '42601',
} as const;
export type WireSqlState = (typeof SQLSTATE)[keyof typeof SQLSTATE];

/**
 * A failure the server must report to the client as an ErrorResponse with
 * this SQLSTATE. Codec and authentication errors are fatal: the byte stream
 * or the handshake can no longer be trusted, so the connection is closed.
 */
export class PgWireError extends Error {
  override readonly name = 'PgWireError';

  constructor(
    readonly code: WireSqlState,
    message: string,
  ) {
    super(message);
  }
}
