/** Connecting to the local stack's servers with chosen TLS settings, to see what each server accepts. */
import { readFileSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { connect as tlsConnect, type ConnectionOptions, type PeerCertificate } from "node:tls";
import { Redis } from "ioredis";
import pg from "pg";
import { loadCa, issueLeaf, type PemPair } from "../../lib/pki.ts";

/** The error a login with these settings ends in, or "connected". */
export async function pgLogin(url: string, ssl: pg.ClientConfig["ssl"]): Promise<string> {
  const u = new URL(url);
  for (const p of ["sslmode", "sslrootcert", "sslcert", "sslkey"]) u.searchParams.delete(p);
  const client = new pg.Client({ connectionString: u.toString(), ssl, connectionTimeoutMillis: 5000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.query("SELECT 1");
    return "connected";
  } catch (err) {
    return `${(err as { code?: string }).code ?? ""} ${(err as Error).message}`.trim();
  } finally {
    // A connection the server dropped during the handshake may never emit 'end': do not wait on it.
    await Promise.race([client.end().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
  }
}

/** The certificate a PostgreSQL or PgBouncer server shows a verifying client now. */
export async function pgPeerCertificate(url: string): Promise<PeerCertificate> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const stream = (client as unknown as { connection: { stream: { getPeerCertificate(): PeerCertificate } } }).connection.stream;
    return stream.getPeerCertificate();
  } finally {
    await client.end();
  }
}

/** The certificate Redis shows a verifying client now. */
export function redisPeerCertificate(port: number, caFile: string): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const sock = tlsConnect({ port, host: "127.0.0.1", ca: readFileSync(caFile, "utf8") }, () => {
      resolve(sock.getPeerCertificate());
      sock.destroy();
    });
    sock.once("error", reject);
  });
}

/** What a plaintext client gets back for PING on the Redis port: the bytes, and how the server ended it. */
export function plaintextRedisPing(port: number): Promise<{ reply: string; ended: string }> {
  return new Promise((resolve) => {
    let reply = "";
    let ended = "closed";
    const sock = netConnect(port, "127.0.0.1", () => sock.write("PING\r\n"));
    sock.on("data", (d) => (reply += d.toString("latin1")));
    sock.once("error", (err: NodeJS.ErrnoException) => (ended = err.code ?? err.message));
    sock.once("close", () => resolve({ reply, ended }));
  });
}

/**
 * What Redis answers a PING on a raw TLS connection with these options: "-NOAUTH…" means the session was
 * accepted (the password comes after it); an error code or "closed" means the handshake was refused.
 */
export function redisTlsPing(port: number, tls: ConnectionOptions): Promise<string> {
  return new Promise((resolve) => {
    let reply = "";
    let ended = "closed";
    const sock = tlsConnect({ port, host: "127.0.0.1", ...tls }, () => sock.write("PING\r\n"));
    sock.setTimeout(5000, () => sock.destroy(new Error("no answer within 5 s")));
    sock.on("data", (d) => {
      reply += d.toString("latin1");
      if (reply.includes("\r\n")) sock.end();
    });
    sock.once("error", (err: NodeJS.ErrnoException) => (ended = err.code ?? err.message));
    sock.once("close", () => resolve(reply === "" ? ended : reply.trim()));
  });
}

/** "PONG", or the first error a PING over these TLS settings ran into (the connection's own, if any). */
export async function redisAttempt(url: string, tls: ConnectionOptions | undefined): Promise<string> {
  const errors: string[] = [];
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 3000, commandTimeout: 3000, ...(tls ? { tls } : {}) });
  r.on("error", (err: Error) => errors.push(err.message));
  try {
    await r.connect();
    return await r.ping();
  } catch (err) {
    return errors[0] ?? (err as Error).message;
  } finally {
    r.disconnect();
  }
}

/** A leaf signed by the stack's own CA (read from its data folder), e.g. one that expired long ago. */
export async function leafFromStackCa(tlsDir: string, opts: { usage: "server" | "client"; now: Date; lifetimeMs: number }): Promise<PemPair> {
  const ca = await loadCa({ cert: readFileSync(`${tlsDir}/ca.crt`, "utf8"), key: readFileSync(`${tlsDir}/ca.key`, "utf8") });
  return issueLeaf(ca, { subject: [{ CN: ["pooling-test"] }], usage: opts.usage, ipAddresses: ["127.0.0.1"], dnsNames: ["localhost"], lifetimeMs: opts.lifetimeMs, now: opts.now });
}
