// Original file: proto/smartqueue/v1/smartqueue.proto


/**
 * CancelTask's answer.
 */
export interface CancelTaskResponse {
}

/**
 * CancelTask's answer.
 */
export interface CancelTaskResponse__Output {
}
