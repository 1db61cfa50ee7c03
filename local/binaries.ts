/**
 * Finds the real postgres, pgbouncer and redis-server binaries and their versions. A missing one gets the
 * exact install command; as root on Debian or Ubuntu it is installed with apt.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { commandPath } from "../lib/commands.ts";
import { AptInstallError, BinaryVersionError, MissingBinaryError } from "./errors.ts";

export interface Binaries {
  postgresBin: string;
  postgresVersion: string;
  pgbouncer: string;
  pgbouncerVersion: string;
  redisServer: string;
  redisVersion: string;
}

const APT_PACKAGES = { postgres: "postgresql", pgbouncer: "pgbouncer", "redis-server": "redis-server" } as const;

const which = (name: string): string | undefined => commandPath(name);

/** The newest PostgreSQL bin directory: Debian keeps each major under /usr/lib/postgresql/N/bin. */
function postgresBinDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (existsSync(root)) {
    const majors = readdirSync(root).filter((d) => /^\d+$/.test(d) && existsSync(join(root, d, "bin", "postgres")));
    majors.sort((a, b) => Number(b) - Number(a));
    if (majors[0]) return join(root, majors[0], "bin");
  }
  const pgConfig = which("pg_config");
  if (pgConfig) {
    const dir = execFileSync(pgConfig, ["--bindir"], { encoding: "utf8" }).trim();
    if (existsSync(join(dir, "postgres")) && existsSync(join(dir, "initdb"))) return dir;
  }
  return undefined;
}

function versionOf(binary: string, args: string[], re: RegExp): string {
  const out = execFileSync(binary, args, { encoding: "utf8" });
  const m = re.exec(out);
  if (!m?.[1]) throw new BinaryVersionError(binary, out);
  return m[1];
}

function isDebianLike(): boolean {
  try {
    return /^ID(_LIKE)?=.*(debian|ubuntu)/m.test(readFileSync("/etc/os-release", "utf8"));
  } catch {
    return false;
  }
}

function aptInstall(pkgs: string[], say: (m: string) => void): void {
  say(`installing ${pkgs.join(", ")} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [["update", "-qq"], ["install", "-y", "-qq", "--no-install-recommends", ...pkgs]]) {
    const r = spawnSync("apt-get", args, { env, stdio: ["ignore", "inherit", "inherit"] });
    if (r.status !== 0) throw new AptInstallError(args, r.status);
  }
}

function locate(): Partial<Record<keyof typeof APT_PACKAGES, string>> {
  const bin = postgresBinDir();
  return { postgres: bin, pgbouncer: which("pgbouncer"), "redis-server": which("redis-server") };
}

/** Locates every binary, installing missing ones with apt when allowed (root on Debian/Ubuntu). */
export function findBinaries(opts: { install?: boolean; say?: (m: string) => void } = {}): Binaries {
  const say = opts.say ?? (() => undefined);
  let found = locate();
  let missing = (Object.keys(APT_PACKAGES) as (keyof typeof APT_PACKAGES)[]).filter((k) => !found[k]);
  const canInstall = (opts.install ?? true) && process.getuid?.() === 0 && isDebianLike();
  if (missing.length > 0 && canInstall) {
    aptInstall(missing.map((m) => APT_PACKAGES[m]), say);
    found = locate();
    missing = missing.filter((k) => !found[k]);
  }
  if (missing.length > 0) {
    const first = missing[0]!;
    const cmd = `sudo apt-get install -y ${missing.map((m) => APT_PACKAGES[m]).join(" ")}`;
    throw new MissingBinaryError(first, cmd);
  }
  const postgresBin = found.postgres!;
  return {
    postgresBin,
    postgresVersion: versionOf(join(postgresBin, "postgres"), ["--version"], /\(PostgreSQL\) (\d+(?:\.\d+)?)/),
    pgbouncer: found.pgbouncer!,
    pgbouncerVersion: versionOf(found.pgbouncer!, ["--version"], /PgBouncer (\d+\.\d+(?:\.\d+)?)/),
    redisServer: found["redis-server"]!,
    redisVersion: versionOf(found["redis-server"]!, ["--version"], /v=(\d+\.\d+(?:\.\d+)?)/),
  };
}

/** "15.18" → "15"; "1.18.0" → "1.18": the form the stack config's version keys use. */
export function majorMinor(version: string, parts: 1 | 2): string {
  return version.split(".").slice(0, parts).join(".");
}

/** The versions the stack config is validated against when these binaries run it. */
export function installedVersions(b: Binaries): { postgres: string; pgbouncer: string } {
  return { postgres: majorMinor(b.postgresVersion, 1), pgbouncer: majorMinor(b.pgbouncerVersion, 2) };
}

/** Debian's Prometheus and the exporters `npm start -- --monitoring` runs beside the stack. */
export interface MonitoringBinaries {
  prometheus: string;
  postgresExporter: string;
  redisExporter: string;
}

/**
 * The monitoring binaries, installed with apt when missing and allowed. Debian packages no
 * pgbouncer_exporter, so there is none here: the probe's own SHOW POOLS figures stand in (infra/render/metrics.ts).
 */
export function findMonitoringBinaries(opts: { install?: boolean; say?: (m: string) => void } = {}): MonitoringBinaries {
  const packages = { prometheus: "prometheus", "prometheus-postgres-exporter": "prometheus-postgres-exporter", "prometheus-redis-exporter": "prometheus-redis-exporter" } as const;
  const names = Object.keys(packages) as (keyof typeof packages)[];
  let missing = names.filter((n) => !which(n));
  if (missing.length > 0 && (opts.install ?? true) && process.getuid?.() === 0 && isDebianLike()) {
    aptInstall(missing.map((m) => packages[m]), opts.say ?? (() => undefined));
    missing = names.filter((n) => !which(n));
  }
  if (missing.length > 0) throw new MissingBinaryError(missing[0]!, `sudo apt-get install -y ${missing.map((m) => packages[m]).join(" ")}`);
  return { prometheus: which("prometheus")!, postgresExporter: which("prometheus-postgres-exporter")!, redisExporter: which("prometheus-redis-exporter")! };
}
