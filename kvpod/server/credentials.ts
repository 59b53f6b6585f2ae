import { ServerCredentials } from '@grpc/grpc-js';

/**
 * Mutual TLS that asks every client for a certificate but lets the handshake
 * finish even when it fails verification: the call is then refused with a
 * gRPC UNAUTHENTICATED status that says why, instead of a bare TLS alert the
 * client would report as "connection failed".
 */
export class MutualTlsCredentials extends ServerCredentials {
  constructor(ca: Buffer, cert: Buffer, key: Buffer) {
    super({ requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' }, { ca, cert, key });
  }

  override _equals(other: ServerCredentials): boolean {
    return other === this;
  }
}
