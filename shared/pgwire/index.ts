export { PgWireError, SQLSTATE, type WireSqlState } from './errors.js';
export {
  FrontendParser,
  decodePasswordMessage,
  decodeSaslInitialResponse,
  splitStartupOptions,
  SSL_REQUEST_CODE,
  GSSENC_REQUEST_CODE,
  CANCEL_REQUEST_CODE,
  PROTOCOL_3_0,
  DEFAULT_MAX_MESSAGE_LENGTH,
  MAX_MESSAGE_LENGTH_CAP,
  type FrontendMessage,
  type FrontendPacket,
  type FrontendParserOptions,
  type StartupPacket,
  type Target,
} from './frontend.js';
export {
  BackendWriter,
  encode,
  ENCRYPTION_ACCEPT,
  ENCRYPTION_REJECT,
  type FieldDescription,
  type NoticeFields,
  type Severity,
  type TransactionStatus,
} from './backend.js';
export {
  ScramServer,
  hashPassword,
  parseVerifier,
  verifyPassword,
  SCRAM_MECHANISM,
  DEFAULT_SCRAM_ITERATIONS,
  type ScramServerOptions,
  type ScramVerifier,
} from './scram.js';
