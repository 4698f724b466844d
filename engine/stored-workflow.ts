/**
 * What the checkpoint store keeps of a run's workflow, and how to read it back whole.
 *
 * The run record holds the workflow as it started (its IR, plain JSON). Tasks added to the run
 * later (dynamic DAGs, the gRPC SubmitTask) are kept with their own task rows instead
 * (`TaskRecord.spec`), so adding one costs the same however large the run has grown. Whoever
 * needs the run's full task list reads it with {@link storedWorkflowTasks}.
 */
import type { TaskIR, WorkflowIR } from '../dsl/ir.js';
import type { TaskRecord } from './stages.js';

/** What the store keeps of a workflow (the run record's `workflow`), so a replay needs no source file. */
export interface StoredWorkflow {
  /** The workflow as the run started; tasks added later are in the task rows' `spec`. */
  ir: WorkflowIR;
  /** The run stays open for added tasks until closed (see StartRunOptions.keepOpen). */
  open?: boolean;
  /** Module file of a DSL workflow (its inline handlers are reloaded from it on replay). */
  file?: string;
}

/**
 * Every task of a stored run: the stored workflow's tasks, then the tasks added to the run (the
 * task records that carry a `spec`) in the order `tasks` lists them, each id once (the first
 * wins). Runs recorded before added tasks had specs hold them in the workflow itself, which
 * this reads the same way.
 */
export function storedWorkflowTasks(stored: StoredWorkflow, tasks: readonly TaskRecord[]): TaskIR[] {
  const all = [...stored.ir.tasks];
  let seen: Set<string> | undefined;
  for (const t of tasks) {
    if (t.spec === undefined) continue;
    seen ??= new Set(all.map((x) => x.id));
    const spec = t.spec as TaskIR;
    if (seen.has(spec.id)) continue;
    seen.add(spec.id);
    all.push(spec);
  }
  return all;
}

/** `stored` with its IR holding every task of the run (see {@link storedWorkflowTasks}). */
export function withAddedTasks(stored: StoredWorkflow, tasks: readonly TaskRecord[]): StoredWorkflow {
  return { ...stored, ir: { ...stored.ir, tasks: storedWorkflowTasks(stored, tasks) } };
}
