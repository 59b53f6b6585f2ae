// The transport floor for make bench-kv: a gRPC server in its own process that
// serves the same shoal.kv.v1.Kv service (kvService from kv.proto) with the
// same mutual TLS as kvpod (MutualTlsCredentials, the kvpod's certificates),
// but does no work per request: no identity check (the TLS auth context is
// never read), no request validation, no storage, no metrics. Get answers a
// fixed value (found) with a fixed read timestamp, Commit a fixed commit
// timestamp. What a client measures against it is the cost of protobuf,
// HTTP/2, TLS and grpc-js on both ends, i.e. the most any kvpod could reach.
//
//   node --import tsx bench/kv/noop-server.ts --listen HOST:PORT --ca-cert F --cert F --key F [--value-bytes N]
//
// Prints `listening HOST:PORT` (the bound port) once it accepts calls. Exits on
// SIGTERM/SIGINT, and when its stdin closes (so it does not outlive the bench).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Server, status, type handleUnaryCall, type ServiceError, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { kvpodSettingsSchema } from '../../kvpod/config.js';
import { MutualTlsCredentials } from '../../kvpod/server/credentials.js';
import {
  kvService,
  type CommitRequest,
  type CommitResponse,
  type GetRequest,
  type GetResponse,
  type LocateRangeRequest,
  type LocateRangeResponse,
  type Timestamp,
} from '../../shared/kv/protocol.js';

const { values: flags } = parseArgs({
  options: {
    listen: { type: 'string', default: '127.0.0.1:0' },
    'ca-cert': { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
    'value-bytes': { type: 'string', default: '100' },
  },
  strict: true,
});

function requiredFlag(name: string, value: string | undefined): string {
  if (!value) throw new Error(`noop-server: --${name} is required`);
  return value;
}

const listen = flags.listen ?? '127.0.0.1:0';
const valueBytes = Number(flags['value-bytes']);
if (!Number.isSafeInteger(valueBytes) || valueBytes < 0) throw new Error(`noop-server: bad --value-bytes ${flags['value-bytes']}`);
const credentials = new MutualTlsCredentials(
  readFileSync(requiredFlag('ca-cert', flags['ca-cert'])),
  readFileSync(requiredFlag('cert', flags.cert)),
  readFileSync(requiredFlag('key', flags.key)),
);

// Fixed answers, built once.
const ts: Timestamp = { wallMs: Date.now(), logical: 0 };
const getResponse: GetResponse = { found: true, value: Buffer.alloc(valueBytes, 0x61), readTs: ts };
const commitResponse: CommitResponse = { commitTs: ts };

// Same server options as kvpod (kvpod/node.ts), with kvpod's default settings.
const settings = kvpodSettingsSchema.parse({});
const server = new Server({
  'grpc.max_receive_message_length': settings.maxBatchBytes + 1024 * 1024,
  'grpc.max_send_message_length': settings.scanPageBytes * 2 + 1024 * 1024,
});

const unimplemented: handleUnaryCall<unknown, unknown> = (_call, callback) => {
  const err: Partial<ServiceError> = { code: status.UNIMPLEMENTED, details: 'the noop server answers only Get, Commit and LocateRange' };
  callback(err, null);
};

server.bindAsync(listen, credentials, (err, port) => {
  if (err) {
    process.stderr.write(`noop-server: cannot listen on ${listen}: ${err.message}\n`);
    process.exit(1);
  }
  const host = listen.slice(0, listen.lastIndexOf(':'));
  const address = `${host}:${port}`;
  // One range holding the whole keyspace, on this server (what a single kvpod answers).
  const locateResponse: LocateRangeResponse = {
    range: { rangeId: 1, startKey: Buffer.alloc(0), endKey: Buffer.alloc(0), generation: 1, address },
  };
  const get: handleUnaryCall<GetRequest, GetResponse> = (_call, callback) => callback(null, getResponse);
  const commit: handleUnaryCall<CommitRequest, CommitResponse> = (_call, callback) => callback(null, commitResponse);
  const locate: handleUnaryCall<LocateRangeRequest, LocateRangeResponse> = (_call, callback) => callback(null, locateResponse);
  const implementation: UntypedServiceImplementation = {
    Get: get,
    Commit: commit,
    LocateRange: locate,
    MultiGet: unimplemented,
    Scan: unimplemented,
  };
  server.addService(kvService, implementation);
  process.stdout.write(`listening ${address}\n`);
});

const stop = () => {
  server.forceShutdown();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
