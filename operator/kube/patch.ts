// Metadata edits as JSON patches guarded by the object's resourceVersion: a
// writer that raced us makes the patch fail (409/422) instead of being
// overwritten, and the reconcile runs again on fresh state.
import type { KubeApi } from '../../shared/kube/api.js';

interface Versioned {
  readonly metadata: { readonly resourceVersion?: string; readonly finalizers?: readonly string[] };
}

function guard(o: Versioned): object[] {
  return o.metadata.resourceVersion === undefined ? [] : [{ op: 'test', path: '/metadata/resourceVersion', value: o.metadata.resourceVersion }];
}

export async function addFinalizer(api: KubeApi, path: string, o: Versioned, finalizer: string): Promise<void> {
  if (o.metadata.finalizers?.includes(finalizer)) return;
  const add = o.metadata.finalizers ? { op: 'add', path: '/metadata/finalizers/-', value: finalizer } : { op: 'add', path: '/metadata/finalizers', value: [finalizer] };
  await api.patch(path, [...guard(o), add], 'application/json-patch+json');
}

export async function removeFinalizer(api: KubeApi, path: string, o: Versioned, finalizer: string): Promise<void> {
  const index = o.metadata.finalizers?.indexOf(finalizer) ?? -1;
  if (index < 0) return;
  await api.patch(path, [...guard(o), { op: 'test', path: `/metadata/finalizers/${index}`, value: finalizer }, { op: 'remove', path: `/metadata/finalizers/${index}` }], 'application/json-patch+json');
}
