// An HTTP answer to bad or refused input: a status and a plain-text body saying why. It carries no
// stack trace: it is an answer, not a bug, and some refusals are hot paths.
export class HttpFail extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers?: Record<string, string>,
  ) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
  }
}

export function fail(message: string, status = 400, headers?: Record<string, string>): HttpFail {
  return new HttpFail(status, message, headers);
}
