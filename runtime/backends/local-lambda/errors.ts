// Errors in the shape the AWS Lambda API answers with: an HTTP status, the `x-amzn-ErrorType`
// header naming the exception, and a JSON body `{ Type, message }`. The SDK turns these into
// its own exception classes (ResourceNotFoundException, ...) by that name.

export class LambdaApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorType: string,
    message: string,
    /** Extra body members (e.g. TooManyRequestsException's `Reason`) and response headers. */
    readonly extra: { body?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = errorType;
  }

  body(): Record<string, unknown> {
    const type = this.status >= 500 ? 'Service' : 'User';
    return { Type: type, message: this.message, ...this.extra.body };
  }
}

export const notFound = (message: string) => new LambdaApiError(404, 'ResourceNotFoundException', message);
export const conflict = (message: string) => new LambdaApiError(409, 'ResourceConflictException', message);
/** A request that fails the API model's constraints (a pattern, a length), before any lookup. */
export const validation = (message: string) => new LambdaApiError(400, 'ValidationException', message);
export const invalidParameter = (message: string) => new LambdaApiError(400, 'InvalidParameterValueException', message);
export const invalidContent = (message: string) => new LambdaApiError(400, 'InvalidRequestContentException', message);
export const preconditionFailed = (message: string) => new LambdaApiError(412, 'PreconditionFailedException', message);
export const requestTooLarge = (message: string) => new LambdaApiError(413, 'RequestTooLargeException', message);
export const entityTooLarge = (message: string) => new LambdaApiError(413, 'RequestEntityTooLargeException', message);
export const tooManyRequests = (message: string, reason: string) =>
  new LambdaApiError(429, 'TooManyRequestsException', message, { body: { Reason: reason }, headers: { 'Retry-After': '1' } });
export const unknownOperation = (message: string) => new LambdaApiError(404, 'UnknownOperationException', message);
