/**
 * A tiny JSON-over-gRPC service for wrapper tests: unary `Echo`, server-streaming `Count` and
 * client-streaming `Sum`, on a real grpc-js server bound to 127.0.0.1.
 */
import * as grpc from '@grpc/grpc-js';

export interface EchoRequest {
  namespace?: string;
  text?: string;
  n?: number;
}

const json = {
  serialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer) => JSON.parse(b.toString('utf8')) as unknown,
};

function method(name: string, requestStream: boolean, responseStream: boolean) {
  return {
    path: `/test.Echo/${name}`,
    requestStream,
    responseStream,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  };
}

export const ECHO_SERVICE: grpc.ServiceDefinition = {
  Echo: method('Echo', false, false),
  Count: method('Count', false, true),
  Sum: method('Sum', true, false),
};

export const EchoClient = grpc.makeGenericClientConstructor(ECHO_SERVICE, 'Echo');

/** Handlers that count how often they ran. */
export function echoHandlers(calls: { n: number }) {
  return {
    Echo(call: grpc.ServerUnaryCall<EchoRequest, unknown>, cb: grpc.sendUnaryData<unknown>) {
      calls.n++;
      cb(null, { text: call.request.text });
    },
    Count(call: grpc.ServerWritableStream<EchoRequest, unknown>) {
      calls.n++;
      for (let i = 1; i <= (call.request.n ?? 0); i++) call.write({ i });
      call.end();
    },
    Sum(call: grpc.ServerReadableStream<EchoRequest, unknown>, cb: grpc.sendUnaryData<unknown>) {
      calls.n++;
      let sum = 0;
      call.on('data', (m: EchoRequest) => (sum += m.n ?? 0));
      call.on('end', () => cb(null, { sum }));
    },
  };
}

export async function startServer(
  handlers: grpc.UntypedServiceImplementation,
  credentials = grpc.ServerCredentials.createInsecure(),
): Promise<{ server: grpc.Server; address: string }> {
  const server = new grpc.Server();
  server.addService(ECHO_SERVICE, handlers);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, address: `127.0.0.1:${port}` };
}

export function unary(
  client: grpc.Client,
  name: string,
  req: unknown,
  metadata = new grpc.Metadata(),
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, (...a: unknown[]) => void>)[name]!;
    fn.call(client, req, metadata, { deadline: Date.now() + 5000 }, (err: unknown, res: unknown) =>
      err ? reject(err as Error) : resolve(res),
    );
  });
}

export function bearer(token: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${token}`);
  return md;
}
