// The SQL pod's lifecycle: the pure state machine, the stamp and its checks,
// and the stamping endpoint of an unbound pod.
export {
  DEFAULT_DRAIN_LIMIT_MS,
  LifecycleError,
  initialState,
  onDrain,
  onSessionsChanged,
  onStamp,
  onTick,
  onUndrain,
  stateLabel,
  type BoundTenant,
  type Decision,
  type ExitReason,
  type Phase,
  type PodState,
  type Refusal,
  type RefusalCode,
  type Transition,
} from './state.js';
export { StampError, parseStamp, stampSchema, verifyStamp, type Stamp, type StampErrorCode } from './stamp.js';
export {
  DEFAULT_STAMP_BODY_LIMIT,
  StampingError,
  checkOperator,
  createStampingServer,
  type StampingEndpoint,
  type StampingErrorCode,
  type StampingPhase,
  type StampingServerOptions,
} from './stamping-server.js';
