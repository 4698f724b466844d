import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { Option } from 'commander';
import { formatDuration } from '../../dsl/duration.js';
import type { RunStatus } from '../../engine/stages.js';
import { openStore } from '../../runtime/embedded.js';
import { parseStoreSpec } from '../../runtime/open-store.js';
import type { CliIO } from '../output.js';
import { table } from '../output.js';
import { intOption, stateOption, storeOption, applyStoreFlag } from './common.js';

export function registerRuns(program: Command, io: CliIO): void {
  program
    .command('runs')
    .summary('list recorded runs, newest first')
    .argument('[cursor]', 'page cursor printed at the end of a previous page')
    .addOption(
      new Option('--status <status>', 'only runs in this state').choices([
        'running',
        'succeeded',
        'failed',
        'cancelled',
      ]),
    )
    .option('--workflow <name>', 'only runs of this workflow')
    .option('-n, --limit <n>', 'runs per page', intOption('--limit'), 20)
    .option(...stateOption)
    .option(...storeOption)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  $ smartqueue runs\n  $ smartqueue runs --status failed --limit 5')
    .action(
      async (
        cursor: string | undefined,
        opts: {
          status?: RunStatus;
          workflow?: string;
          limit: number;
          state: string;
          store?: string;
          json?: boolean;
        },
      ) => {
        applyStoreFlag(opts);
        if (parseStoreSpec(opts.state).kind === 'sqlite' && !existsSync(parseStoreSpec(opts.state).target)) {
          io.out(
            opts.json ? JSON.stringify({ runs: [], nextCursor: null }) : `no runs recorded in ${opts.state}`,
          );
          return;
        }
        const store = await openStore(opts.state === ':memory:' ? false : opts.state);
        try {
          const page = await store.listRuns({
            limit: opts.limit,
            ...(opts.status && { status: opts.status }),
            ...(opts.workflow && { workflowName: opts.workflow }),
            ...(cursor && { cursor }),
          });
          if (opts.json) {
            io.out(
              JSON.stringify(
                { runs: page.runs.map(({ workflow: _w, ...r }) => r), nextCursor: page.nextCursor ?? null },
                null,
                2,
              ),
            );
            return;
          }
          if (page.runs.length === 0) {
            io.out('no runs recorded in ' + opts.state);
            return;
          }
          const rows = page.runs.map((r) => [
            r.runId,
            r.workflowName,
            r.status,
            new Date(r.createdAt).toISOString().replace('T', ' ').slice(0, 19),
            r.finishedAt !== undefined ? formatDuration(r.finishedAt - r.createdAt) : '-',
            r.deadlineAt === undefined
              ? '-'
              : r.deadlineMissed
                ? 'missed'
                : r.status === 'running'
                  ? 'pending'
                  : 'met',
          ]);
          io.out(table(['run', 'workflow', 'status', 'started (UTC)', 'took', 'deadline'], rows));
          if (page.nextCursor) io.out(`more: smartqueue runs ${page.nextCursor}`);
        } finally {
          await store.close();
        }
      },
    );
}
