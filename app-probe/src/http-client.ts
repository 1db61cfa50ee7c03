/**
 * Outgoing HTTP through one undici keep-alive Agent.
 *
 * The seed passed `agent` to the built-in fetch, which ignores it (Node's fetch is undici and takes a
 * `dispatcher`), so every call paid a new TCP handshake. Here the Agent is passed as `dispatcher`, and
 * the sockets it opens are counted against the requests sent, which gives the reuse ratio.
 */
import { Agent, request } from "undici";
import type { ProbeEnv } from "./env.ts";
import { DependencyError, asError } from "./errors.ts";
import type { Metrics } from "./metrics.ts";

/** Headers and body each must arrive within this, so a stuck upstream costs a request, not a socket forever. */
export const UPSTREAM_TIMEOUT_MS = 5000;

export interface HttpFigures {
  maxSockets: number;
  socketsOpened: number;
  socketsOpen: number;
  requests: number;
  /** 1 - socketsOpened / requests: the share of requests that reused a socket; 0 before any request. */
  reuseRatio: number;
}

export interface UpstreamReply {
  status: number;
  bytes: number;
}

export class HttpClient {
  private readonly agent: Agent;
  private socketsOpened = 0;
  private socketsClosed = 0;
  private requests = 0;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly env: ProbeEnv,
    private readonly metrics: Metrics,
    timeoutMs = UPSTREAM_TIMEOUT_MS,
  ) {
    this.agent = new Agent({
      connections: env.httpMaxSockets,
      keepAliveTimeout: env.httpKeepAliveTimeoutMs,
      // A server's `Keep-Alive: timeout=N` hint may not stretch the idle time past the configured value;
      // SERVER_KEEPALIVE_TIMEOUT_MS > HTTP_KEEPALIVE_TIMEOUT_MS is what keeps reuse free of resets.
      keepAliveMaxTimeout: env.httpKeepAliveTimeoutMs,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    this.agent.on("connect", () => {
      this.socketsOpened++;
      this.metrics.upstreamSockets.inc();
    });
    this.agent.on("disconnect", () => {
      this.socketsClosed++;
    });
  }

  get figures(): HttpFigures {
    const { socketsOpened, requests } = this;
    return {
      maxSockets: this.env.httpMaxSockets,
      socketsOpened,
      socketsOpen: socketsOpened - this.socketsClosed,
      requests,
      reuseRatio: requests === 0 ? 0 : Math.max(0, 1 - socketsOpened / requests),
    };
  }

  /** GET `url`; the body is always read to the end, since an unread body keeps its socket from reuse. */
  async get(url: string, signal?: AbortSignal): Promise<UpstreamReply> {
    this.requests++;
    this.metrics.upstreamRequests.inc();
    try {
      const res = await request(url, { method: "GET", dispatcher: this.agent, signal });
      const body = await res.body.arrayBuffer();
      if (res.statusCode >= 500) {
        this.metrics.upstreamErrors.inc({ kind: "status" });
        throw new DependencyError("upstream", "status", `upstream answered ${res.statusCode}`);
      }
      return { status: res.statusCode, bytes: body.byteLength };
    } catch (err) {
      if (err instanceof DependencyError) throw err;
      const e = asError(err);
      const code = (err as { code?: unknown }).code;
      const kind = typeof code === "string" && code.includes("TIMEOUT") ? "timeout" : e.name === "AbortError" ? "aborted" : "connection";
      this.metrics.upstreamErrors.inc({ kind });
      throw new DependencyError("upstream", kind, `upstream ${kind}: ${e.message}`, { cause: err });
    }
  }

  /** Idempotent; lets in-flight requests finish, then closes every socket. */
  close(): Promise<void> {
    this.closing ??= this.agent.close();
    return this.closing;
  }
}

/** The probe's own /upstream, reached over loopback when it listens on every interface. */
export function defaultUpstreamUrl(host: string, port: number): string {
  const wildcard = host === "0.0.0.0" || host === "::" || host === "";
  const h = wildcard ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return `http://${h}:${port}/upstream`;
}
