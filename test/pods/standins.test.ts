/**
 * Stand-ins: images matched by repository, versions detected by running this machine's binaries, the
 * probe app built as its Dockerfile builds it.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { buildProbeApp, probeBuildKey } from "../../pods/probe-build.ts";
import { detectStandIns, parseImage, StandIns } from "../../pods/standins.ts";
import { busybox, tempDir, removeTempDirs } from "./helpers.ts";

const PROJECT = fileURLToPath(new URL("../..", import.meta.url));

describe("image references", () => {
  it("splits repository and tag, dropping docker.io/library/ and a digest", () => {
    expect(parseImage("postgres:17.11-bookworm")).toEqual({ repository: "postgres", tag: "17.11-bookworm" });
    expect(parseImage("docker.io/library/redis")).toEqual({ repository: "redis", tag: null });
    expect(parseImage("localhost:5001/pooling-probe:dev")).toEqual({ repository: "localhost:5001/pooling-probe", tag: "dev" });
    expect(parseImage("quay.io/x/y@sha256:abc")).toEqual({ repository: "quay.io/x/y", tag: null });
  });

  it("matches by repository whatever the tag, a */name pattern under any registry, and says why nothing matched", () => {
    const s = new StandIns([{ pattern: "busybox", standIn: busybox() }, { pattern: "*/pooling-probe", standIn: busybox() }]);
    expect(s.resolve("busybox:1.36").standIn).not.toBeNull();
    expect(s.resolve("localhost:5391/pooling-probe:dev").standIn).not.toBeNull();
    expect(s.resolve("nginx:1.27")).toMatchObject({ standIn: null, reason: "no stand-in for the image repository nginx on this machine" });
    expect(s.report().map((r) => r.image)).toEqual(["busybox:1.36", "localhost:5391/pooling-probe:dev", "nginx:1.27"]);
  });
});

describe("this machine's stand-ins", () => {
  afterAll(removeTempDirs);
  it("detects each version by running the binary", async () => {
    const s = await detectStandIns({ projectDir: PROJECT, cacheDir: tempDir("standins") });
    const pg = s.resolve("postgres:17.11-bookworm");
    const majors = readdirSync("/usr/lib/postgresql").filter((d) => /^\d+$/.test(d)).sort((a, b) => Number(b) - Number(a));
    const version = /PostgreSQL\)\s+(\S+)/.exec(execFileSync(`/usr/lib/postgresql/${majors[0]}/bin/postgres`, ["--version"], { encoding: "utf8" }))![1]!;
    expect(pg.standIn?.description).toBe(`Debian PostgreSQL ${version} (/usr/lib/postgresql/${majors[0]}/bin/postgres)`);
    // The image's `ENV PATH $PATH:/usr/lib/postgresql/$PG_MAJOR/bin`, its users and its STOPSIGNAL.
    expect(pg.standIn?.env.PATH).toMatch(new RegExp(`:/usr/lib/postgresql/${majors[0]}/bin$`));
    expect(pg.standIn?.users.find((u) => u.name === "postgres")).toMatchObject({ uid: 999, gid: 999 });
    expect(pg.standIn?.stopSignal).toBe("SIGINT");
    expect(s.stackVersions["postgres.version"]).toBe(majors[0]);
    expect(s.resolve("edoburu/pgbouncer:v1.24.1-p1").standIn).toMatchObject({ user: { uid: 70, gid: 70 }, binds: [{ source: "/usr/sbin/pgbouncer", target: "/usr/bin/pgbouncer" }] });
    expect(s.resolve("redis:7.4.11-bookworm").standIn?.description).toMatch(/^Debian Redis \d+\.\d+\.\d+ \(\/usr\/bin\/redis-server\)$/);
    expect(s.resolve("quay.io/prometheuscommunity/pgbouncer-exporter:v0.10.2")).toMatchObject({ standIn: null, reason: expect.stringMatching(/different program/) });
    const exporter = s.resolve("quay.io/prometheuscommunity/postgres-exporter:v0.17.1");
    if (existsSync("/usr/bin/prometheus-postgres-exporter")) expect(exporter.standIn?.entrypoint).toEqual(["/bin/postgres_exporter"]);
    else expect(exporter.reason).toMatch(/not installed/);
  });

  it("builds the probe app as app-probe/Dockerfile does, once per input hash", async () => {
    const cacheDir = tempDir("probe");
    const appDir = join(PROJECT, "app-probe");
    const key = probeBuildKey(appDir, process.versions.node);
    const app = await buildProbeApp({ appDir, cacheDir, key });
    expect(readdirSync(app).sort()).toEqual([".complete", "dist", "node_modules", "package.json"]);
    expect(existsSync(join(app, "dist", "main.js"))).toBe(true);
    expect(existsSync(join(app, "node_modules", "typescript"))).toBe(false); // dev dependencies left in the build stage
    const t0 = Date.now();
    expect(await buildProbeApp({ appDir, cacheDir, key })).toBe(app);
    expect(Date.now() - t0).toBeLessThan(1_000);
  }, 300_000);
});
