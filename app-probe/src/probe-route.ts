/**
 * GET /probe: the load target. One short write transaction, one Redis INCR and one upstream call, each
 * optional, run side by side. The answer names everything written, so a fault test can later check that
 * every acknowledged write exists.
 */
import { randomUUID } from "node:crypto";
import { BadRequestError } from "./errors.ts";
import type { HttpClient, UpstreamReply } from "./http-client.ts";
import type { PgDatabase } from "./postgres.ts";
import type { RedisCommands } from "./redis.ts";

export const PROBE_PARTS = ["pg", "redis", "http"] as const;
export type ProbePart = (typeof PROBE_PARTS)[number];

export const DEFAULT_KEY = "default";
const KEY_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

export interface ProbeQuery {
  parts: ProbePart[];
  key: string;
}

/** Validates `?parts=pg,redis,http&key=...`; unknown parts or a bad key are a 400, not a guess. */
export function parseProbeQuery(params: URLSearchParams): ProbeQuery {
  const partsParam = params.getAll("parts");
  const keyParam = params.getAll("key");
  if (partsParam.length > 1 || keyParam.length > 1) throw new BadRequestError("parts and key may be given once each");
  let parts: ProbePart[] = [...PROBE_PARTS];
  if (partsParam.length === 1) {
    const asked = (partsParam[0] ?? "").split(",").map((p) => p.trim());
    const unknown = asked.filter((p) => !(PROBE_PARTS as readonly string[]).includes(p));
    if (unknown.length > 0 || asked.length === 0) {
      throw new BadRequestError(`parts must be a comma-separated subset of ${PROBE_PARTS.join(",")}`);
    }
    parts = PROBE_PARTS.filter((p) => asked.includes(p));
  }
  const key = keyParam[0] ?? DEFAULT_KEY;
  if (!KEY_PATTERN.test(key)) throw new BadRequestError("key must be 1 to 64 characters of A-Z a-z 0-9 _ . : -");
  return { parts, key };
}

export interface ProbeResult {
  key: string;
  parts: ProbePart[];
  /** The row inserted into probe_writes and the counter value this transaction produced. */
  pg?: { writeId: string; counter: number };
  redis?: { key: string; value: number };
  http?: UpstreamReply & { url: string };
}

export interface ProbeDeps {
  db: PgDatabase;
  redis: RedisCommands;
  http: HttpClient;
  upstreamUrl: () => string;
}

export const redisKeyFor = (key: string): string => `probe:counter:${key}`;

async function writePg(db: PgDatabase, key: string): Promise<NonNullable<ProbeResult["pg"]>> {
  const writeId = randomUUID();
  const counter = await db.transaction(async (client) => {
    const [row] = await db.timedQuery<{ n: string }>(
      client,
      "counter_upsert",
      db.statement(
        "probe_counter_upsert",
        `INSERT INTO probe_counters (id, n) VALUES ($1, 1)
         ON CONFLICT (id) DO UPDATE SET n = probe_counters.n + 1, updated_at = now()
         RETURNING n`,
        [key],
      ),
    );
    if (row === undefined) throw new Error("counter upsert returned no row");
    await db.timedQuery(
      client,
      "write_insert",
      db.statement("probe_write_insert", "INSERT INTO probe_writes (id, counter_id, n) VALUES ($1, $2, $3)", [writeId, key, row.n]),
    );
    return Number(row.n);
  });
  return { writeId, counter };
}

/**
 * Runs the asked parts concurrently and waits for all of them, so no work is still running when the
 * response goes out. If any part failed, the first failure is thrown (a 503 naming its dependency).
 */
export async function runProbe(deps: ProbeDeps, query: ProbeQuery, signal: AbortSignal): Promise<ProbeResult> {
  const result: ProbeResult = { key: query.key, parts: query.parts };
  const tasks: Promise<unknown>[] = [];
  if (query.parts.includes("pg")) tasks.push(writePg(deps.db, query.key).then((r) => (result.pg = r)));
  if (query.parts.includes("redis")) {
    const redisKey = redisKeyFor(query.key);
    tasks.push(deps.redis.incr(redisKey).then((value) => (result.redis = { key: redisKey, value })));
  }
  if (query.parts.includes("http")) {
    const url = deps.upstreamUrl();
    tasks.push(deps.http.get(url, signal).then((reply) => (result.http = { ...reply, url })));
  }
  const failures = (await Promise.allSettled(tasks)).filter((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failures.length > 0) throw failures[0]?.reason;
  return result;
}
