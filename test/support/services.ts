/**
 * Gating for tests that need a real server (Redis, Cassandra, Kafka, etcd). Each test file
 * probes its service once (top-level await) and registers its tests through `withService`:
 *   - service reachable: the tests run;
 *   - unreachable and CI=true: one failing test says which service is missing and how to start
 *     it (integration tests fail, not skip, in CI);
 *   - unreachable outside CI: the tests are registered as skipped, with a note on stderr.
 *
 * Addresses come from SMARTQUEUE_TEST_<NAME> (host:port or a URL), defaulting to the ports
 * `scripts/services up` uses on 127.0.0.1.
 */
import { accessSync, constants } from 'node:fs';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';
import { describe, it } from 'vitest';

export type ServiceName = 'redis' | 'cassandra' | 'kafka' | 'etcd' | 'zipkin';

const DEFAULTS: Record<ServiceName, string> = {
  redis: 'redis://127.0.0.1:6379',
  cassandra: '127.0.0.1:9042',
  kafka: '127.0.0.1:9092',
  etcd: 'http://127.0.0.1:2379',
  zipkin: 'http://127.0.0.1:9411',
};

export const IN_CI = process.env.CI === 'true';

/** The configured address of a service, as given (URL or host:port). */
export function serviceAddress(name: ServiceName): string {
  return process.env[`SMARTQUEUE_TEST_${name.toUpperCase()}`] || DEFAULTS[name];
}

/** Host and port of a service's address. */
export function serviceHostPort(name: ServiceName): { host: string; port: number } {
  const address = serviceAddress(name);
  const url = new URL(address.includes('://') ? address : `tcp://${address}`);
  return { host: url.hostname, port: Number(url.port) };
}

/** Whether a TCP connection to the service opens within `timeoutMs`. */
export function probeService(name: ServiceName, timeoutMs = 1500): Promise<boolean> {
  const { host, port } = serviceHostPort(name);
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Registers `register()`'s tests when the service answered the probe; otherwise a failing test
 * (CI) or skipped tests (elsewhere), as described at the top of this file.
 */
export function withService(
  name: ServiceName,
  available: boolean,
  title: string,
  register: () => void,
): void {
  if (available) {
    register();
    return;
  }
  const hint = `${name} is not reachable at ${serviceAddress(name)} (start it with \`bash scripts/services up ${name}\`, or set SMARTQUEUE_TEST_${name.toUpperCase()})`;
  if (IN_CI) {
    describe(title, () => {
      it(`needs ${name}`, () => {
        throw new Error(`${hint}; with CI=true this is a failure, not a skip`);
      });
    });
    return;
  }
  process.stderr.write(`${title}: SKIPPED, ${hint}\n`);
  describe.skipIf(!available)(title, register);
}

/** The path of an executable found on PATH (then /usr/sbin, /sbin), or undefined. */
export function findExecutable(command: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/**
 * `withService` for a command-line tool (promtool, amtool...): the tests run when `command` is
 * installed; otherwise one failing test with CI=true, skipped tests (and a note) elsewhere.
 * `install` says how to get it, e.g. "bash scripts/services install prometheus".
 */
export function withTool(command: string, install: string, title: string, register: () => void): void {
  if (findExecutable(command)) {
    register();
    return;
  }
  const hint = `${command} is not installed (install it with \`${install}\`)`;
  if (IN_CI) {
    describe(title, () => {
      it(`needs ${command}`, () => {
        throw new Error(`${hint}; with CI=true this is a failure, not a skip`);
      });
    });
    return;
  }
  process.stderr.write(`${title}: SKIPPED, ${hint}\n`);
  describe.skip(title, register);
}
