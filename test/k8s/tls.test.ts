/** TLS on the Kubernetes target, without Pulumi: the renewal epoch, the Secrets, the mounts and the in-pod clients. */
import { describe, expect, it } from "vitest";
import { leavesStashName } from "../../infra/k8s/certificates.ts";
import {
  exporterDataSource,
  pgbouncerConfigMap,
  pgbouncerDeployment,
  postgresConfigMap,
  postgresStatefulSet,
  redisConfigMap,
  redisStatefulSet,
  redisTlsReloadCommand,
  renderManifests,
  TLS_DIRS,
} from "../../infra/k8s/manifests/index.ts";
import { renewalEpoch } from "../../infra/render/index.ts";
import { asManifest, devConfig, podTemplates, type ContainerLike } from "./fixtures.ts";

const MIN = 60_000;
/** A rendered ConfigMap's file (the builders type data as Pulumi inputs; here they are plain strings). */
const conf = (cm: { data?: unknown }, file: string): string => (cm.data as Record<string, string>)[file]!;
const DAY = 86_400_000;

describe("the renewal epoch", () => {
  const tls = { lifetime: 90 * DAY, renewBefore: 30 * DAY };

  it("is ⌊now / (lifetime − renewBefore)⌋", () => {
    expect(renewalEpoch(tls, new Date(0))).toBe(0);
    expect(renewalEpoch(tls, new Date(60 * DAY - 1))).toBe(0);
    expect(renewalEpoch(tls, new Date(60 * DAY))).toBe(1);
    expect(renewalEpoch({ lifetime: 10 * MIN, renewBefore: 4 * MIN }, new Date(13 * MIN))).toBe(2);
  });

  it("moves on before any leaf made in the previous epoch is within renewBefore of its end", () => {
    const period = tls.lifetime - tls.renewBefore;
    for (const issuedAt of [5 * period, 5 * period + 1, 6 * period - 1]) {
      const epoch = renewalEpoch(tls, new Date(issuedAt));
      const due = issuedAt + tls.lifetime - tls.renewBefore;
      // The first instant the leaf is within renewBefore of its end already belongs to a later epoch.
      expect(renewalEpoch(tls, new Date(due)), `issued at ${issuedAt}`).toBeGreaterThan(epoch);
      // And it is never replaced twice in one period: the next epoch starts no earlier than one period on.
      expect((epoch + 1) * period - issuedAt).toBeLessThanOrEqual(period);
    }
  });

  it("refuses a renewal margin that leaves no period", () => {
    expect(() => renewalEpoch({ lifetime: DAY, renewBefore: DAY })).toThrow(/renewBefore .* shorter than pooling:tls.lifetime/);
  });

  it("names the leaves' Stash by the epoch and by what the leaves were made for", () => {
    const at = new Date(100 * DAY);
    const name = leavesStashName("pooling", devConfig(), at);
    expect(name).toMatch(/^pooling-tls-leaves-e1-[0-9a-f]{8}$/);
    expect(leavesStashName("pooling", devConfig(), new Date(119 * DAY))).toBe(name);
    expect(leavesStashName("pooling", devConfig(), new Date(120 * DAY))).toMatch(/-e2-/);
    // A renamed namespace changes the leaves' names, so it makes a new set at once.
    expect(leavesStashName("pooling", devConfig({ namespace: "other" }), at)).not.toBe(name);
    expect(leavesStashName("pooling", devConfig({ tls: { lifetime: "30d", renewBefore: "10d" } }), at)).not.toBe(name);
  });
});

const containersOf = (manifest: object): ContainerLike[] => podTemplates([manifest]).flatMap((t) => t.template.spec.containers);
const container = (manifest: object, name: string) => containersOf(manifest).find((c) => c.name === name)!;
const volumes = (manifest: object) => (manifest as { spec: { template: { spec: { volumes: Array<{ name: string; secret?: { secretName: string; defaultMode?: number; items?: unknown } }> } } } }).spec.template.spec.volumes;

describe("TLS on Kubernetes", () => {
  const cfg = devConfig();

  it("renders every server's config with TLS on and the files at their mounts", () => {
    expect(conf(postgresConfigMap(cfg), "postgresql.conf")).toContain(`ssl_cert_file = '${TLS_DIRS.postgres}/tls.crt'`);
    expect(conf(postgresConfigMap(cfg), "pg_hba.conf")).toMatch(/^hostnossl\s+all\s+all\s+0\.0\.0\.0\/0\s+reject/m);
    expect(conf(pgbouncerConfigMap(cfg), "pgbouncer.ini")).toContain(`client_tls_key_file = ${TLS_DIRS.pgbouncer}/tls.key`);
    expect(conf(pgbouncerConfigMap(cfg), "pgbouncer.ini")).toContain("server_tls_sslmode = verify-full");
    expect(conf(redisConfigMap(cfg), "redis.conf")).toMatch(/^port 0$/m);
    expect(conf(redisConfigMap(cfg), "redis.conf")).toContain(`tls-ca-cert-file ${TLS_DIRS.redis}/ca.crt`);
  });

  it("mounts each TLS Secret as a whole directory, 0440, in every container that reads it", () => {
    for (const [workload, server, readers] of [
      [postgresStatefulSet(cfg), "postgres", ["postgres", "postgres-exporter", "tls-reloader"]],
      [pgbouncerDeployment(cfg), "pgbouncer", ["pgbouncer", "reloader", "pgbouncer-exporter"]],
      [redisStatefulSet(cfg), "redis", ["redis", "redis-exporter", "tls-reloader"]],
    ] as const) {
      expect(volumes(workload).find((v) => v.name === "tls")?.secret).toEqual({ secretName: `${server}-tls`, defaultMode: 0o440 });
      for (const name of readers) {
        const mount = (container(workload, name).volumeMounts ?? []).find((m) => m.name === "tls");
        expect(mount, `${server}/${name}`).toEqual({ name: "tls", mountPath: TLS_DIRS[server], readOnly: true });
        expect(mount).not.toHaveProperty("subPath");
      }
    }
  });

  it("has the exporters and in-pod clients verify the server against the mounted CA", () => {
    expect(exporterDataSource(cfg)).toBe(`127.0.0.1:5432/app?sslmode=verify-full&sslrootcert=${TLS_DIRS.postgres}/ca.crt`);
    const redisExporter = container(redisStatefulSet(cfg), "redis-exporter");
    expect(redisExporter.env).toContainEqual({ name: "REDIS_ADDR", value: "rediss://127.0.0.1:6379" });
    expect(redisExporter.args).toEqual([`-tls-ca-cert-file=${TLS_DIRS.redis}/ca.crt`]);
    const pgbExporter = container(pgbouncerDeployment(cfg), "pgbouncer-exporter");
    expect(pgbExporter.args![0]).toMatch(new RegExp(`/pgbouncer\\?sslmode=verify-full&sslrootcert=${TLS_DIRS.pgbouncer}/ca.crt$`));
    const reloader = container(pgbouncerDeployment(cfg), "reloader").command!.join(" ");
    expect(reloader).toContain(`sslmode=verify-full sslrootcert=${TLS_DIRS.pgbouncer}/ca.crt`);
    expect(reloader).toContain(`${TLS_DIRS.pgbouncer}/tls.crt`);
    const ping = container(redisStatefulSet(cfg), "redis").readinessProbe!.exec!.command!.join(" ");
    expect(ping).toContain(`redis-cli --tls --cacert ${TLS_DIRS.redis}/ca.crt`);
  });

  it("gives in-pod clients the client pair when clients must present certificates", () => {
    const certs = devConfig({ tls: { clientCertificates: true } });
    expect(exporterDataSource(certs)).toContain(`&sslcert=${TLS_DIRS.postgres}/client.crt&sslkey=${TLS_DIRS.postgres}/client.key`);
    expect(container(redisStatefulSet(certs), "redis").readinessProbe!.exec!.command!.join(" ")).toContain(`--cert ${TLS_DIRS.redis}/client.crt --key ${TLS_DIRS.redis}/client.key`);
    expect(conf(pgbouncerConfigMap(certs), "pgbouncer.ini")).toContain(`server_tls_cert_file = ${TLS_DIRS.pgbouncer}/client.crt`);
    // PgBouncer's own probes too: with client_tls_sslmode verify-full it ends a handshake without one.
    const pgbouncer = container(pgbouncerDeployment(certs), "pgbouncer");
    for (const probe of [pgbouncer.readinessProbe!, pgbouncer.livenessProbe!]) {
      expect(probe.exec!.command!.join(" ")).toContain(`sslmode=verify-full sslrootcert=${TLS_DIRS.pgbouncer}/ca.crt sslcert=${TLS_DIRS.pgbouncer}/client.crt sslkey=${TLS_DIRS.pgbouncer}/client.key`);
    }
  });

  it("tells Redis about new files by alternating between two spellings of the same paths", () => {
    const cmd = redisTlsReloadCommand(cfg);
    expect(cmd).toContain("CONFIG GET tls-cert-file");
    expect(cmd).toContain(`if [ "$cur" = "${TLS_DIRS.redis}/tls.crt" ]; then d="${TLS_DIRS.redis}/."; else d="${TLS_DIRS.redis}"; fi`);
    expect(cmd).toContain('CONFIG SET tls-cert-file $d/tls.crt tls-key-file $d/tls.key tls-ca-cert-file $d/ca.crt');
  });

  it("renders no TLS Secret, mount or setting with pooling:tls.enabled false", () => {
    const off = devConfig({ tls: { enabled: false } });
    const files = renderManifests(off).map((m) => m.file);
    expect(files.filter((f) => f.endsWith("tls-secret.yaml"))).toEqual([]);
    expect(JSON.stringify(renderManifests(off).map((m) => asManifest(m.object)))).not.toMatch(/-tls"|tls-reloader|rediss:/);
    expect(exporterDataSource(off)).toBe("127.0.0.1:5432/app?sslmode=disable");
  });
});
