/**
 * The local stack's certificates, in the data folder's tls/: the CA (kept across restarts, so a client's
 * trusted CA file stays good) and numbered generations of leaves, g1/, g2/, … Each renewal writes a new
 * generation instead of overwriting files in place, because Redis 7.0 reloads its TLS files on CONFIG SET
 * only when the path changes (infra/render/redis.ts); PostgreSQL and PgBouncer take new paths on reload as
 * well. Every file has mode 0600 and belongs to the user that runs the servers; the CA key belongs to us.
 */
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { StackConfig } from "../infra/config/index.ts";
import {
  checkStackLeaves,
  createStackCa,
  issueStackLeaves,
  leavesDue,
  TLS_LEAVES,
  type ServerNames,
  type StackLeaves,
  type TlsFiles,
  type TlsLeafName,
  type TlsServer,
} from "../infra/render/index.ts";
import { CertificateError, type PemPair } from "../lib/pki.ts";
import { writeAtomic } from "./files.ts";
import type { RunAs } from "./system.ts";

/** Every local server is reached on loopback, by address or by name. */
const LOOPBACK_NAMES: ServerNames = { dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] };
const LOCAL_NAMES: Record<TlsServer, ServerNames> = { postgres: LOOPBACK_NAMES, pgbouncer: LOOPBACK_NAMES, redis: LOOPBACK_NAMES };

export interface LocalTlsPaths {
  ca: string;
  leaves: Record<TlsLeafName, { cert: string; key: string }>;
}

const GENERATION = /^g(\d+)$/;

export class LocalTls {
  private ca!: PemPair;
  private leaves!: StackLeaves;
  /** The generation the servers are told about; 0 before `open`. */
  generation = 0;

  constructor(
    readonly dir: string,
    private readonly owner: RunAs | undefined,
  ) {}

  get caFile(): string {
    return join(this.dir, "ca.crt");
  }

  private get caKeyFile(): string {
    return join(this.dir, "ca.key");
  }

  private generationDir(n: number): string {
    return join(this.dir, `g${n}`);
  }

  paths(n = this.generation): LocalTlsPaths {
    const dir = this.generationDir(n);
    const pair = (name: TlsLeafName) => ({ cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) });
    return { ca: this.caFile, leaves: { postgres: pair("postgres"), pgbouncer: pair("pgbouncer"), redis: pair("redis"), client: pair("client") } };
  }

  /**
   * The client pair at a path that does not move: clients started once (the probe, the exporters) read it
   * again at each new connection, so a renewed pair reaches them without a restart.
   */
  get clientFiles(): { cert: string; key: string } {
    return { cert: join(this.dir, "client.crt"), key: join(this.dir, "client.key") };
  }

  /** The files one server reads. */
  serverFiles(server: TlsServer): TlsFiles {
    const p = this.paths();
    return { ca: p.ca, ...p.leaves[server] };
  }

  /**
   * The CA (made on first start) and the newest generation of leaves, or a new one when there is none,
   * when it does not pass checkStackLeaves (a hand-edited or half-written folder), or when it is due.
   */
  async open(cfg: StackConfig, now = new Date()): Promise<{ issued: boolean }> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.own(this.dir);
    if (existsSync(this.caFile) && existsSync(this.caKeyFile)) {
      this.ca = { cert: readFileSync(this.caFile, "utf8"), key: readFileSync(this.caKeyFile, "utf8") };
    } else {
      this.ca = await createStackCa(cfg, now);
      writeAtomic(this.caKeyFile, this.ca.key, { secret: true });
      this.writeOwned(this.caFile, this.ca.cert);
    }
    const newest = this.generations().at(-1);
    if (newest !== undefined) {
      const leaves = this.read(newest);
      if (leaves && this.usable(cfg, leaves, now)) {
        this.leaves = leaves;
        this.generation = newest;
        return { issued: false };
      }
    }
    this.install(await issueStackLeaves(cfg, this.ca, LOCAL_NAMES, now), now);
    return { issued: true };
  }

  /** Whether the current leaves are within pooling:tls.renewBefore of their end. */
  due(cfg: StackConfig, now = new Date()): boolean {
    return leavesDue(cfg, this.leaves, now);
  }

  /** A fresh set of leaves from the stack's CA (not yet installed). */
  issue(cfg: StackConfig, now = new Date()): Promise<StackLeaves> {
    return issueStackLeaves(cfg, this.ca, LOCAL_NAMES, now);
  }

  get caCert(): string {
    return this.ca.cert;
  }

  /**
   * Checks `leaves` (expiry, key against certificate, issuer) and only then writes them as the next
   * generation; returns it. A CertificateError leaves every file as it was.
   */
  install(leaves: StackLeaves, now = new Date()): number {
    checkStackLeaves(leaves, this.ca.cert, now);
    const next = (this.generations().at(-1) ?? 0) + 1;
    const dir = this.generationDir(next);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.own(dir);
    const p = this.paths(next);
    for (const name of TLS_LEAVES) {
      this.writeOwned(p.leaves[name].key, leaves[name].key);
      this.writeOwned(p.leaves[name].cert, leaves[name].cert);
    }
    this.writeOwned(this.clientFiles.key, leaves.client.key);
    this.writeOwned(this.clientFiles.cert, leaves.client.cert);
    this.leaves = leaves;
    this.generation = next;
    return next;
  }

  /** Deletes every generation but the current one: the servers have loaded it, and nothing reads the others. */
  prune(): void {
    for (const n of this.generations()) if (n !== this.generation) rmSync(this.generationDir(n), { recursive: true, force: true });
  }

  private usable(cfg: StackConfig, leaves: StackLeaves, now: Date): boolean {
    try {
      checkStackLeaves(leaves, this.ca.cert, now);
    } catch (err) {
      if (err instanceof CertificateError) return false;
      throw err;
    }
    return !leavesDue(cfg, leaves, now);
  }

  private read(n: number): StackLeaves | undefined {
    const p = this.paths(n);
    if (!TLS_LEAVES.every((name) => existsSync(p.leaves[name].cert) && existsSync(p.leaves[name].key))) return undefined;
    const pair = (name: TlsLeafName): PemPair => ({ cert: readFileSync(p.leaves[name].cert, "utf8"), key: readFileSync(p.leaves[name].key, "utf8") });
    return { postgres: pair("postgres"), pgbouncer: pair("pgbouncer"), redis: pair("redis"), client: pair("client") };
  }

  private generations(): number[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .map((name) => GENERATION.exec(name)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  private writeOwned(file: string, text: string): void {
    writeAtomic(file, text, { secret: true, owner: this.owner });
  }

  private own(dir: string): void {
    if (this.owner) chownSync(dir, this.owner.uid, this.owner.gid);
  }
}

