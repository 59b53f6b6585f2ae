// The warm-up must really run the engine: it swallows its own failures (a
// cold stamp is slower, not wrong), so only this test notices when it breaks.
import { expect, it } from 'vitest';
import { createTestCerts } from '../../kvpod/testing/fixtures.js';
import { issueCert } from '../../shared/certs/index.js';
import { prewarm } from './prewarm.js';

it('bootstraps, logs in and runs statements against its in-memory KV', async () => {
  const certs = await createTestCerts();
  const pool = await issueCert(certs.ca, { kind: 'pool-server', hosts: ['127.0.0.1'] });
  expect(await prewarm({ caPem: certs.ca.certPem, certPem: pool.certPem, keyPem: pool.keyPem })).toMatchObject({ engine: true });
});

it('reports a warm-up that could not run, without throwing', async () => {
  const certs = await createTestCerts();
  const pool = await issueCert(certs.ca, { kind: 'pool-server', hosts: ['127.0.0.1'] });
  const stranger = await createTestCerts();
  // A CA that did not issue the pod's certificate: the loopback TLS handshake fails.
  expect(await prewarm({ caPem: stranger.ca.certPem, certPem: pool.certPem, keyPem: pool.keyPem })).toMatchObject({ engine: false });
});
