/**
 * The HTTP layer: routing, request hygiene (size limits, methods, malformed input) and per-request
 * bookkeeping. What each route does lives in its own module.
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import { BadRequestError, DependencyError, DrainingError, PayloadTooLargeError, ProbeHttpError, asError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import type { Metrics } from "./metrics.ts";

/** Every route is a GET without a body; anything larger than this is refused, never buffered. */
export const MAX_BODY_BYTES = 1024;
const REQUEST_TIMEOUT_MS = 30_000;
const HEADERS_TIMEOUT_MS = 10_000;

export type RouteReply = { status: number; body: unknown; contentType?: string };
export type Route = (url: URL, req: IncomingMessage, signal: AbortSignal) => Promise<RouteReply>;

export interface ServerOptions {
  routes: Record<string, Route>;
  /** Routes still served while draining: /upstream, because in-flight /probe calls may depend on it. */
  drainExempt: ReadonlySet<string>;
  /** Routes answered even while draining because they report on it: /healthz, /readyz, /metrics, /stats. */
  alwaysServed: ReadonlySet<string>;
  keepAliveTimeoutMs: number;
  isDraining: () => boolean;
  log: Logger;
  metrics: Metrics;
  /** Masks secrets in error text before it reaches a response or a log. */
  clean: (s: string) => string;
}

/** Drains the request body (up to the limit) so the connection can be reused; a bigger body is a 413. */
async function consumeBody(req: IncomingMessage): Promise<void> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (!Number.isFinite(declared) || declared < 0) throw new BadRequestError("invalid content-length");
  if (declared > MAX_BODY_BYTES) throw new PayloadTooLargeError(MAX_BODY_BYTES);
  let seen = 0;
  for await (const chunk of req) {
    seen += (chunk as Buffer).length;
    if (seen > MAX_BODY_BYTES) throw new PayloadTooLargeError(MAX_BODY_BYTES);
  }
}

function send(res: ServerResponse, reply: RouteReply, close: boolean): void {
  if (res.headersSent || res.destroyed) return;
  const text = typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body);
  res.statusCode = reply.status;
  res.setHeader("content-type", reply.contentType ?? "application/json; charset=utf-8");
  res.setHeader("content-length", Buffer.byteLength(text));
  res.setHeader("cache-control", "no-store");
  // While draining, or after a refused body we did not read, the client must not reuse this socket.
  if (close) res.setHeader("connection", "close");
  res.end(text);
}

export interface ProbeServer {
  server: http.Server;
  inFlight: () => number;
  /** Resolves when no request outside `drainExempt` is being served. */
  idle: () => Promise<void>;
}

/** Counts requests being served, and wakes whoever waits for the count to reach zero. */
class InFlight {
  private count = 0;
  private waiters: (() => void)[] = [];

  get size(): number {
    return this.count;
  }

  /** Counted until the response is fully handed to the socket, so shutdown never cuts an answer off. */
  track(res: ServerResponse): void {
    this.count++;
    res.once("close", () => {
      this.count--;
      if (this.count > 0) return;
      const ready = this.waiters;
      this.waiters = [];
      for (const w of ready) w();
    });
  }

  idle(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }
}

function requestUrl(req: IncomingMessage): URL {
  try {
    return new URL(req.url ?? "/", "http://probe.invalid");
  } catch {
    throw new BadRequestError("malformed request target");
  }
}

function handlerFor(opts: ServerOptions, url: URL): Route {
  const handler = Object.hasOwn(opts.routes, url.pathname) ? opts.routes[url.pathname] : undefined;
  if (handler === undefined) throw new ProbeHttpError(404, "not_found", `no route ${url.pathname}`);
  return handler;
}

/** Refuses what a known route does not serve: a method other than GET, new work while draining. */
function admit(opts: ServerOptions, route: string, req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("allow", "GET, HEAD");
    throw new ProbeHttpError(405, "method_not_allowed", "only GET is served");
  }
  if (opts.isDraining() && !opts.drainExempt.has(route) && !opts.alwaysServed.has(route)) throw new DrainingError();
}

/** The answer to a failed request, logged as it deserves: expected failures without a stack. */
function errorReply(opts: ServerOptions, err: unknown, route: string, clientGone: boolean): RouteReply {
  if (!(err instanceof ProbeHttpError)) {
    opts.log.error({ route, err }, "unexpected error while serving a request");
    return { status: 500, body: { error: { code: "internal", message: "internal error" } } };
  }
  const extra = err instanceof DependencyError ? { dependency: err.dependency, kind: err.kind } : {};
  // A stack would only show this file; a refusal while draining is not a failure at all, and a caller
  // that hung up caused its own failure (the aborted upstream call): not worth a warning.
  if (err.status >= 500 && !(err instanceof DrainingError)) {
    opts.log[clientGone ? "debug" : "warn"]({ route, code: err.code, ...extra, reason: opts.clean(err.message) }, "request failed");
  }
  return { status: err.status, body: { error: { code: err.code, message: opts.clean(err.message), ...extra } } };
}

export function createServer(opts: ServerOptions): ProbeServer {
  const inFlight = new InFlight();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let route = "unknown";
    const end = opts.metrics.httpDuration.startTimer();
    // Aborted when the client goes away, so an upstream call for a vanished caller stops early.
    const abort = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) abort.abort();
    });
    let reply: RouteReply;
    let closeAfter = false;
    try {
      const url = requestUrl(req);
      const handler = handlerFor(opts, url);
      route = url.pathname;
      admit(opts, route, req, res);
      if (!opts.drainExempt.has(route)) inFlight.track(res);
      await consumeBody(req);
      reply = await handler(url, req, abort.signal);
    } catch (err) {
      // A body we refused to read leaves the socket unusable.
      if (err instanceof PayloadTooLargeError) closeAfter = true;
      reply = errorReply(opts, err, route, abort.signal.aborted);
    }
    // While draining every answer closes its connection, except /upstream: in-flight /probe calls reach
    // it over the agent's keep-alive sockets, and a closed socket would force a new connection.
    send(res, reply, closeAfter || (opts.isDraining() && !opts.drainExempt.has(route)));
    opts.metrics.httpRequests.inc({ route, status: String(reply.status) });
    end({ route });
  };

  const server = http.createServer(
    { requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: HEADERS_TIMEOUT_MS, keepAliveTimeout: opts.keepAliveTimeoutMs },
    (req, res) => {
      handle(req, res).catch((err: unknown) => {
        // handle() answers every error itself; reaching here means writing the answer failed.
        opts.log.error({ err: asError(err) }, "failed to answer a request");
        res.destroy();
      });
    },
  );
  // Node answers malformed requests (400, 431 for huge headers, 408) itself when no 'clientError'
  // listener is installed; that is the behaviour wanted, so none is.

  return { server, inFlight: () => inFlight.size, idle: () => inFlight.idle() };
}
