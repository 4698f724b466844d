/**
 * Real gRPC API servers for integration tests: a grpc-js server on 127.0.0.1 (port 0) over the
 * embedded runtime with a SQLite state file, the real typed client, and cleanup after each test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { afterEach, expect } from 'vitest';
import type { TaskHandler } from '../../engine/handler.js';
import { createGrpcApi, createSmartQueueClient } from '../../plugins/api/grpc/index.js';
import type { GrpcApi, GrpcApiLimits, SmartQueueClient } from '../../plugins/api/grpc/index.js';
import type { GrpcServerExtras } from '../../plugins/api/grpc/server.js';
import type { Run__Output } from '../../proto/generated/smartqueue/v1/Run.js';
import { createEmbeddedRuntime } from '../../runtime/embedded.js';
import type { EmbeddedRuntime } from '../../runtime/embedded.js';

export interface TestServer {
  runtime: EmbeddedRuntime;
  api: GrpcApi;
  client: SmartQueueClient;
  address: string;
}

/**
 * Registers cleanup with the calling test file and returns its helpers. `handlers` gives the
 * embedded workers' extra handlers (e.g. stand-ins for `run` and `http`).
 */
export function grpcTestServers(handlers: () => Record<string, TaskHandler> = () => ({})) {
  const open: TestServer[] = [];
  const dirs: string[] = [];

  afterEach(async () => {
    for (const s of open.splice(0)) {
      s.client.close();
      await s.api.close();
      await s.runtime.close();
    }
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  async function startServer(limits?: GrpcApiLimits, extras?: GrpcServerExtras): Promise<TestServer> {
    const dir = mkdtempSync(path.join(tmpdir(), 'sq-grpc-'));
    dirs.push(dir);
    const runtime = await createEmbeddedRuntime({
      statePath: path.join(dir, 'state.db'),
      concurrency: 16,
      handlers: handlers(),
    });
    const api = createGrpcApi(
      { engine: runtime.engine, store: runtime.store, ...(limits && { limits }) },
      extras,
    );
    const port = await api.start('127.0.0.1', 0);
    const address = `127.0.0.1:${port}`;
    const server = { runtime, api, client: createSmartQueueClient(address), address };
    open.push(server);
    return server;
  }

  /** Polls GetRun until the run leaves RUNNING. */
  async function waitForRun(
    client: SmartQueueClient,
    runId: string,
    timeoutMs = 20_000,
  ): Promise<Run__Output> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const run = await client.getRun({ runId });
      if (run.status !== 'RUN_STATUS_RUNNING') return run;
      if (Date.now() > until) throw new Error(`run ${runId} still running after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  return { startServer, waitForRun, collect, failure };
}

/** Reads a stream to its end (or `max` items). */
export async function collect<T>(stream: AsyncIterable<T>, max = Infinity): Promise<T[]> {
  const out: T[] = [];
  for await (const e of stream) {
    out.push(e);
    if (out.length >= max) break;
  }
  return out;
}

/** The status a call failed with (the test fails if it succeeded). */
export async function failure(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e as grpc.ServiceError,
  );
  expect(err, 'the call should have failed').toBeDefined();
  return err!;
}
