/** What the bench parent and its load-generator processes say to each other over IPC. */
import type { ClientTls } from "../infra/render/urls.ts";

export const MODES = ["pg-new", "pg-pool", "http-keepalive", "http-new", "redis-shared", "redis-new"] as const;
export type Mode = (typeof MODES)[number];

export interface Job {
  mode: Mode;
  /** postgres://, http://, redis:// or rediss:// — always a loopback address. */
  url: string;
  /**
   * For rediss://: the CA (and client pair) to verify Redis with, read once per instance. PostgreSQL URLs
   * carry theirs (sslrootcert), which node-postgres reads itself.
   */
  tls?: ClientTls;
  /** Simulated app instances in this process: each has its own pool, agent or Redis client. */
  instances: number;
  /** Concurrent request loops in this process, spread evenly over its instances. */
  clients: number;
  /** node-postgres Pool `max`, per instance. */
  poolMax: number;
  poolIdleTimeoutMs: number;
  /** Pool acquire timeout, and the connect timeout of a new connection. */
  connectionTimeoutMs: number;
  /** undici Agent `connections` and keep-alive timeout, per instance (as the probe sets them). */
  httpMaxSockets: number;
  httpKeepAliveTimeoutMs: number;
  /** Rows in pgbench_accounts: the query reads a random one. */
  rows: number;
  durationMs: number;
  /** After the deadline, how long in-flight requests may take before the process gives up on them. */
  drainMs: number;
  /** A loop whose request failed waits about this long before it tries again (a retrying client). */
  errorBackoffMs: number;
}

export type ToWorker = { type: "job"; job: Job } | { type: "go" } | { type: "stop" };

export interface WorkerResult {
  pid: number;
  completed: number;
  errorsByKind: Record<string, number>;
  errorSamples: Record<string, string>;
  /** Request latency and the time to get a connection, as encoded histograms (histogram.ts encode()). */
  latency: string;
  acquire: string;
  /** Connections this process opened to the server it targets (pg, PgBouncer, HTTP or Redis). */
  connectionsOpened: number;
  elapsedMs: number;
  /** Requests still unfinished when the drain time ran out. */
  unfinished: number;
  cpuMs: number;
  maxRssKb: number;
  cpusAllowed: string;
}

export type FromWorker =
  | { type: "ready"; pid: number }
  | { type: "result"; result: WorkerResult }
  | { type: "failed"; message: string };
