// Original file: proto/smartqueue/v1/workers.proto


/**
 * The result was received (it is discarded when its attempt is no longer current).
 */
export interface ReportResultResponse {
}

/**
 * The result was received (it is discarded when its attempt is no longer current).
 */
export interface ReportResultResponse__Output {
}
