// Original file: proto/smartqueue/v1/smartqueue.proto


/**
 * CancelRun's answer (the run ends `cancelled` shortly after).
 */
export interface CancelRunResponse {
}

/**
 * CancelRun's answer (the run ends `cancelled` shortly after).
 */
export interface CancelRunResponse__Output {
}
