// The scaling decisions shared by the Kubernetes operator and the local
// orchestrator (design brief, "Shared decision code"): pure functions, no I/O,
// no clock. Only what the callers do with the answers differs.
export {
  CpuWindow,
  DEFAULT_CPU_WINDOW_MS,
  DEFAULT_SAMPLE_HOLD_MS,
  type CpuSample,
  type CpuStats,
  type CpuWindowOptions,
} from './cpu-window.js';
export {
  DEFAULT_SCALING_POLICY,
  desiredReplicas,
  idleSince,
  type IdleInput,
  type ReplicaDecision,
  type ReplicaInput,
  type ScaleRule,
  type ScalingPolicy,
} from './replicas.js';
export {
  choosePodToBind,
  choosePodsToBind,
  planScale,
  type PoolPod,
  type ScaleAction,
  type TenantPod,
  type TenantPodState,
} from './pods.js';
