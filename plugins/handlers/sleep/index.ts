/** The `sleep` handler: an abortable wait, with switches to fail on purpose (demos, tests). */
export { sleepDurationMs, sleepHandler } from './sleep-handler.js';
export type { SleepArgs, SleepOutputs } from './sleep-handler.js';
