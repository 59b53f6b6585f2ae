// Tenants and their SQL pods, as the proxy sees them.
export { hasRunningPod, type DirectoryChange, type DirectoryListener, type PodState, type PodView, type TenantDirectory, type TenantEntry } from './types.js';
export { MemoryDirectory, type MemoryDirectoryOptions } from './memory.js';
export { parseStaticRouting, staticDirectory, type StaticRouting } from './static-file.js';
