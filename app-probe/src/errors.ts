/**
 * Errors the probe answers with: each has a stable `code` and an HTTP status, so callers and fault tests
 * branch on the code, never on message text.
 */

export type Dependency = "postgres" | "redis" | "upstream";

export class ProbeHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ProbeHttpError";
  }
}

export class BadRequestError extends ProbeHttpError {
  constructor(message: string) {
    super(400, "bad_request", message);
  }
}

export class PayloadTooLargeError extends ProbeHttpError {
  constructor(limit: number) {
    super(413, "payload_too_large", `request body over ${limit} bytes`);
  }
}

/** A dependency failed or timed out: 503, so a load balancer retries elsewhere. */
export class DependencyError extends ProbeHttpError {
  constructor(
    readonly dependency: Dependency,
    readonly kind: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(503, `${dependency}_unavailable`, message);
    this.name = "DependencyError";
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

export class DrainingError extends ProbeHttpError {
  constructor() {
    super(503, "draining", "the probe is shutting down");
  }
}

/** Rejects after `ms` unless `promise` settles first; the timer never keeps the process alive. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
