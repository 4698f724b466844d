/**
 * SmartQueue's public API: the DSL, the engine and its stages, and the embedded runtime.
 */
export { workflow, isWorkflowDefinition } from '../dsl/builder.js';
export type {
  DslContext,
  DslTaskOptions,
  DslWorkflowOptions,
  TaskRef,
  WorkflowBuilder,
  WorkflowDefinition,
} from '../dsl/builder.js';
export { compileWorkflow } from '../dsl/compiler.js';
export type { CompiledPlan, CompileOptions, PlannedTask } from '../dsl/compiler.js';
export { compileFile, loadWorkflowFile, loadYamlText } from '../dsl/load.js';
export type { CompiledWorkflow, LoadedWorkflow } from '../dsl/load.js';
export { resolveParams } from '../dsl/params.js';
export { Engine } from '../engine/engine.js';
export type { ResumePlan, StartRunOptions } from '../engine/engine.js';
export type { EngineEvents, EngineEventName } from '../engine/events.js';
export { formatDiagnostic, NonRetryableError, RetryAfterError, SmartQueueError } from '../engine/errors.js';
export type { ErrorCode, SourceDiagnostic } from '../engine/errors.js';
export type { HandlerContext, TaskHandler } from '../engine/handler.js';
export type * from '../engine/stages.js';
export { createEmbeddedRuntime, openStore } from './embedded.js';
export type { EmbeddedOptions, EmbeddedRuntime } from './embedded.js';
