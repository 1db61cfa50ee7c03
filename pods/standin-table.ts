/**
 * This machine's stand-ins for the stack's images. What each image gives (ENV, users, USER, WORKDIR,
 * ENTRYPOINT/CMD, STOPSIGNAL, paths) is taken from its Dockerfile, named per entry; versions are detected
 * by running the binaries, never assumed.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { DEFAULT_PATH } from "./env.ts";
import { buildProbeApp, probeAppDir, probeBuildKey } from "./probe-build.ts";
import type { StandIn, StandInEntry } from "./standins.ts";

/** `BIN --version` (stdout and stderr), matched against `re`; undefined when it cannot run. */
function versionOf(bin: string, re: RegExp, args = ["--version"]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(bin, args, { timeout: 15_000 }, (err, stdout, stderr) => resolve(err && !stdout ? undefined : re.exec(`${stdout}\n${stderr}`)?.[1]));
  });
}

const ROOT = { name: "root", uid: 0, gid: 0, home: "/root", shell: "/bin/sh" };

function hasLocale(name: string): boolean {
  try {
    return readdirSync("/usr/lib/locale").some((l) => l.toLowerCase().replace(/-/g, "") === name.toLowerCase().replace(/-/g, "")) || readFileSync("/usr/lib/locale/locale-archive").includes(name);
  } catch {
    return false;
  }
}

/** docker-library/postgres `<major>/bookworm/Dockerfile`: uid 999, PGDATA, the bin dir appended to PATH, STOPSIGNAL SIGINT. */
async function postgres(): Promise<StandInEntry> {
  const root = "/usr/lib/postgresql";
  const majors = existsSync(root) ? readdirSync(root).filter((d) => /^\d+$/.test(d) && existsSync(join(root, d, "bin", "postgres"))) : [];
  const major = majors.sort((a, b) => Number(b) - Number(a))[0];
  if (!major) return { pattern: "postgres", standIn: null, reason: "no Debian PostgreSQL under /usr/lib/postgresql/*/bin (apt-get install postgresql)" };
  const bin = join(root, major, "bin");
  const version = await versionOf(join(bin, "postgres"), /PostgreSQL\)\s+(\S+)/);
  if (!version) return { pattern: "postgres", standIn: null, reason: `${bin}/postgres --version did not run` };
  const lang = hasLocale("en_US.utf8");
  const pgdata = "/var/lib/postgresql/data";
  return {
    pattern: "postgres",
    standIn: {
      description: `Debian PostgreSQL ${version} (${bin}/postgres)`,
      version,
      // `ENV PATH $PATH:/usr/lib/postgresql/$PG_MAJOR/bin`: appended, so /usr/bin's pg_wrapper comes first as in the image.
      env: { ...(lang ? { LANG: "en_US.utf8" } : {}), PG_MAJOR: major, PATH: `${DEFAULT_PATH}:${bin}`, PG_VERSION: version, PGDATA: pgdata },
      users: [ROOT, { name: "postgres", uid: 999, gid: 999, home: "/var/lib/postgresql", shell: "/bin/bash" }],
      groups: [{ name: "root", gid: 0 }, { name: "postgres", gid: 999 }],
      user: { uid: 0, gid: 0 },
      workingDir: "/",
      entrypoint: ["docker-entrypoint.sh"],
      cmd: ["postgres"],
      stopSignal: "SIGINT",
      binds: [],
      dirs: [
        { path: "/var/run/postgresql", uid: 999, gid: 999, mode: 0o3777 },
        { path: pgdata, uid: 999, gid: 999, mode: 0o1777 },
        { path: "/docker-entrypoint-initdb.d", uid: 0, gid: 0, mode: 0o755 },
      ],
      notes: [
        ...(lang ? [] : ["image ENV LANG=en_US.utf8 left out: this machine has no such locale"]),
        "no docker-entrypoint.sh: a container relying on the image's ENTRYPOINT does not start",
      ],
    },
  };
}

/** edoburu/docker-pgbouncer Dockerfile: Alpine, USER postgres (70:70), /usr/bin/pgbouncer, psql from postgresql-client. */
async function pgbouncer(): Promise<StandInEntry> {
  const pattern = "edoburu/pgbouncer";
  const bin = "/usr/sbin/pgbouncer";
  const version = existsSync(bin) ? await versionOf(bin, /PgBouncer\s+(\S+)/) : undefined;
  if (!version) return { pattern, standIn: null, reason: "no Debian pgbouncer in /usr/sbin (apt-get install pgbouncer)" };
  const psql = await versionOf("psql", /psql \(PostgreSQL\)\s+(\S+)/);
  return {
    pattern,
    standIn: {
      description: `Debian PgBouncer ${version} (${bin})${psql ? `, psql ${psql}` : ""}`,
      version,
      env: { PATH: DEFAULT_PATH },
      users: [ROOT, { name: "postgres", uid: 70, gid: 70, home: "/var/lib/postgresql", shell: "/bin/sh" }],
      groups: [{ name: "root", gid: 0 }, { name: "postgres", gid: 70 }],
      user: { uid: 70, gid: 70 },
      workingDir: "/",
      entrypoint: ["/entrypoint.sh"],
      cmd: ["/usr/bin/pgbouncer", "/etc/pgbouncer/pgbouncer.ini"],
      stopSignal: "SIGTERM",
      binds: [{ source: bin, target: "/usr/bin/pgbouncer" }],
      dirs: ["/etc/pgbouncer", "/var/log/pgbouncer", "/var/run/pgbouncer"].map((path) => ({ path, uid: 70, gid: 70, mode: 0o755 })),
      notes: [...(psql ? [] : ["no psql on this machine (the image has postgresql-client)"]), "no /entrypoint.sh: a container relying on the image's ENTRYPOINT does not start"],
    },
  };
}

/** docker-library/redis `<ver>/debian/Dockerfile`: uid 999, binaries in /usr/local/bin, WORKDIR /data. */
async function redis(): Promise<StandInEntry> {
  const version = await versionOf("/usr/bin/redis-server", /v=(\S+)/);
  if (!version) return { pattern: "redis", standIn: null, reason: "no Debian redis-server in /usr/bin (apt-get install redis-server)" };
  return {
    pattern: "redis",
    standIn: {
      description: `Debian Redis ${version} (/usr/bin/redis-server)`,
      version,
      env: { PATH: DEFAULT_PATH, REDIS_VERSION: version },
      users: [ROOT, { name: "redis", uid: 999, gid: 999, home: "/home/redis", shell: "/bin/sh" }],
      groups: [{ name: "root", gid: 0 }, { name: "redis", gid: 999 }],
      user: { uid: 0, gid: 0 },
      workingDir: "/data",
      entrypoint: ["docker-entrypoint.sh"],
      cmd: ["redis-server"],
      stopSignal: "SIGTERM",
      binds: ["redis-server", "redis-cli"].filter((b) => existsSync(`/usr/bin/${b}`)).map((b) => ({ source: `/usr/bin/${b}`, target: `/usr/local/bin/${b}` })),
      dirs: [{ path: "/data", uid: 999, gid: 999, mode: 0o755 }],
      notes: ["no docker-entrypoint.sh: a container relying on the image's ENTRYPOINT does not start"],
    },
  };
}

/** app-probe/Dockerfile on node:20-bookworm-slim: USER node (1000:1000), WORKDIR /app, NODE_ENV=production. */
async function probe(projectDir: string, cacheDir: string, log?: (line: string) => void): Promise<StandInEntry> {
  const pattern = "*/pooling-probe";
  const node = process.execPath;
  const version = await versionOf(node, /v(\S+)/);
  if (!version) return { pattern, standIn: null, reason: `${node} --version did not run` };
  const appDir = join(projectDir, "app-probe");
  const key = probeBuildKey(appDir, version);
  const app = probeAppDir(cacheDir, key);
  return {
    pattern,
    standIn: {
      description: `Node.js ${version} (${node}) with app-probe built as app-probe/Dockerfile builds it (${relative(projectDir, app)})`,
      version,
      env: { PATH: DEFAULT_PATH, NODE_VERSION: version, NODE_ENV: "production" },
      users: [ROOT, { name: "node", uid: 1000, gid: 1000, home: "/home/node", shell: "/bin/bash" }],
      groups: [{ name: "root", gid: 0 }, { name: "node", gid: 1000 }],
      user: { uid: 1000, gid: 1000 },
      workingDir: "/app",
      entrypoint: ["docker-entrypoint.sh"],
      cmd: ["node", "--enable-source-maps", "dist/main.js"],
      stopSignal: "SIGTERM",
      binds: [
        { source: app, target: "/app" },
        { source: node, target: "/usr/local/bin/node" },
      ],
      dirs: [],
      notes: ["no docker-entrypoint.sh (node image): a container relying on the image's ENTRYPOINT does not start"],
      prepare: async () => void (await buildProbeApp({ appDir, cacheDir, key, log })),
    },
  };
}

/** An exporter from Debian's package of the same program, bound where the image keeps its binary. */
async function exporter(pattern: string, debianBin: string, imageBin: string, user: { name: string; uid: number; gid: number }, re: RegExp, source: string): Promise<StandInEntry> {
  const version = existsSync(debianBin) ? await versionOf(debianBin, re) : undefined;
  if (!version) return { pattern, standIn: null, reason: `Debian's ${debianBin.split("/").pop()} is not installed (apt-get install ${debianBin.split("/").pop()})` };
  const standIn: StandIn = {
    description: `Debian ${debianBin.split("/").pop()} ${version} (${debianBin})`,
    version,
    env: { PATH: DEFAULT_PATH },
    users: [ROOT, { ...user, home: "/", shell: "/bin/false" }, { name: "nobody", uid: 65534, gid: 65534, home: "/nonexistent", shell: "/bin/false" }],
    groups: [{ name: "root", gid: 0 }, { name: user.name, gid: user.gid }],
    user: { uid: user.uid, gid: user.gid },
    workingDir: "/",
    entrypoint: [imageBin],
    stopSignal: "SIGTERM",
    binds: [{ source: debianBin, target: imageBin }],
    dirs: [],
    notes: [`Debian packages an older release than the image's tag (${source})`],
  };
  return { pattern, standIn };
}

export async function debianStandIns(opts: { projectDir: string; cacheDir: string; log?: (line: string) => void }): Promise<{ entries: StandInEntry[]; stackVersions: Record<string, string> }> {
  const entries = await Promise.all([
    postgres(),
    pgbouncer(),
    redis(),
    probe(opts.projectDir, opts.cacheDir, opts.log),
    // prometheus-community/postgres_exporter Dockerfile: /bin/postgres_exporter, USER nobody.
    exporter("quay.io/prometheuscommunity/postgres-exporter", "/usr/bin/prometheus-postgres-exporter", "/bin/postgres_exporter", { name: "nobody", uid: 65534, gid: 65534 }, /version\s+(\S+)/, "prometheus-community/postgres_exporter"),
    // oliver006/redis_exporter Dockerfile: FROM scratch, /redis_exporter, USER 59000:59000.
    exporter("oliver006/redis_exporter", "/usr/bin/prometheus-redis-exporter", "/redis_exporter", { name: "exporter", uid: 59000, gid: 59000 }, /Redis Metrics Exporter\s+v?(\d+\.\d+\.\d+)/, "oliver006/redis_exporter"),
  ]);
  entries.push({
    pattern: "quay.io/prometheuscommunity/pgbouncer-exporter",
    standIn: null,
    reason: "Debian's prometheus-pgbouncer-exporter is a different program (a Python exporter with its own flags and metrics), so nothing stands in for prometheus-community/pgbouncer_exporter",
  });
  const version = (pattern: string) => entries.find((e) => e.pattern === pattern)?.standIn?.version;
  const pg = version("postgres");
  const pb = version("edoburu/pgbouncer");
  // The stack's version keys as the stand-ins' versions; Redis is left out: its key only picks the image tag.
  const stackVersions: Record<string, string> = {
    ...(pg ? { "postgres.version": pg.split(".")[0]! } : {}),
    ...(pb ? { "pgbouncer.version": pb.split(".").slice(0, 2).join(".") } : {}),
  };
  return { entries, stackVersions };
}
