// The API client against a real kube-apiserver: requests share kept-alive
// TLS connections (a handshake per request cost the operator half its CPU).
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { startTestApiServer, type TestApiServer } from '../testing/kube-apiserver.js';
import { KubeApi, KubeApiError } from './api.js';

let server: TestApiServer;
let api: KubeApi;

beforeAll(async () => {
  server = await startTestApiServer();
  api = KubeApi.fromKubeconfig(server.kubeconfig);
}, 180_000);

afterAll(async () => {
  await server?.stop();
});

it('reuses one connection for requests made one after another', async () => {
  const reused: boolean[] = [];
  const record = (message: unknown) => reused.push((message as { request: { reusedSocket: boolean } }).request.reusedSocket);
  subscribe('http.client.response.finish', record);
  try {
    for (let i = 0; i < 5; i++) await api.get('/api/v1/namespaces/default', z.object({ metadata: z.object({ name: z.string() }) }));
  } finally {
    unsubscribe('http.client.response.finish', record);
  }
  expect(reused.slice(1)).toEqual([true, true, true, true]);
});

it('still reports API errors with their status and reason over a kept-alive connection', async () => {
  const err = await api.get('/api/v1/namespaces/nope', z.unknown()).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(KubeApiError);
  expect(err).toMatchObject({ status: 404, reason: 'NotFound' });
  await expect(api.get('/api/v1/namespaces/default', z.object({ kind: z.literal('Namespace') }))).resolves.toMatchObject({ kind: 'Namespace' });
});
