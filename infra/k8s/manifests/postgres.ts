/** PostgreSQL on Kubernetes: a one-replica StatefulSet running the rendered postgresql.conf. */
import type * as k8s from "@pulumi/kubernetes";
import { EXPORTER_BINARIES, type StackConfig } from "../../config/index.ts";
import { contentHash, renderPgHbaConf, renderPostgresqlConf, type PostgresRuntime, type StackSecrets } from "../../render/index.ts";
import { verifierOf } from "../../render/index.ts";
import { INIT_SQL, INIT_SQL_DIR, PGDATA, PGDATA_MOUNT, postgresInitScript, postgresPreStopScript } from "./postgres-init.ts";
import {
  sidecarResources,
  CONFIG_CHECKSUM_ANNOTATION,
  configMap,
  containerSecurity,
  execProbe,
  httpProbe,
  images,
  labels,
  meta,
  memoryQuantity,
  podSecurity,
  resources,
  scratch,
  secret,
  type SecretData,
  secretEnv,
  selectorLabels,
  service,
} from "./common.ts";
import { clientPairIn, serverTlsFiles, tlsMount, tlsVolume } from "./tls.ts";
import { postgresTlsReloadCommand, reloaderImage, tlsReloaderContainer } from "./tls-reload.ts";
import { FILES } from "../../render/names.ts";

/** The postgres user of the official Debian-based image. */
export const POSTGRES_UID = 999;
export const POSTGRES_CONF_DIR = "/etc/postgresql";
export const POSTGRES_METRICS_PORT = 9187;
const SOCKET_DIR = "/var/run/postgresql";

export const POSTGRES_NAMES = { configMap: "postgres-config", secret: "postgres-secret" } as const;

/** Where things are inside the pod; logins over TCP always need SCRAM, and NetworkPolicies decide who may try. */
export function postgresRuntime(cfg: StackConfig): PostgresRuntime {
  return {
    listenAddresses: "*",
    port: cfg.postgres.port,
    unixSocketDir: SOCKET_DIR,
    hbaFile: `${POSTGRES_CONF_DIR}/pg_hba.conf`,
    hbaNetworks: ["0.0.0.0/0", "::/0"],
    ...(cfg.tls.enabled ? { tls: serverTlsFiles("postgres") } : {}),
  };
}

export function postgresConfigMap(cfg: StackConfig): k8s.types.input.core.v1.ConfigMap {
  const rt = postgresRuntime(cfg);
  return configMap(cfg, "postgres", POSTGRES_NAMES.configMap, {
    [FILES.postgresqlConf]: renderPostgresqlConf(cfg, rt),
    [FILES.pgHbaConf]: renderPgHbaConf(cfg, rt),
  });
}

/**
 * Run by the init container once, when the data directory is new. The role gets the very SCRAM
 * verifier PgBouncer holds in its userlist, which is what lets PgBouncer log in on the app's behalf.
 * Identifiers were validated by the config schema; a verifier holds only base64, `$` and `:`.
 */
export function postgresInitSql(cfg: StackConfig, appVerifier: string): string {
  const { user, database } = cfg.postgres;
  return [
    "-- Runs once, on an empty data directory. Rotating the password later needs ALTER ROLE.",
    `CREATE ROLE "${user}" LOGIN PASSWORD '${appVerifier}';`,
    "-- pg_monitor lets the exporter and the probe read pg_stat_activity for every session.",
    `GRANT pg_monitor TO "${user}";`,
    `CREATE DATABASE "${database}" OWNER "${user}";`,
    "",
  ].join("\n");
}

/** The Secret's keys and values: passwords for the init container and the exporter, and the role SQL. */
export function postgresSecretData(cfg: StackConfig, s: StackSecrets): Record<string, string> {
  return {
    "superuser-password": s.superuser.password,
    "app-password": s.app.password,
    [INIT_SQL]: postgresInitSql(cfg, verifierOf(s.app)),
  };
}

export function postgresSecret(cfg: StackConfig, data: SecretData) {
  return secret(cfg, "postgres", POSTGRES_NAMES.secret, data);
}

export function postgresService(cfg: StackConfig) {
  return service(cfg, "postgres", [
    { name: "postgres", port: cfg.postgres.port },
    { name: "metrics", port: POSTGRES_METRICS_PORT },
  ]);
}

function exporter(cfg: StackConfig): k8s.types.input.core.v1.Container {
  const pg = cfg.postgres;
  return {
    name: "postgres-exporter",
    image: images(cfg).postgresExporter,
    command: [EXPORTER_BINARIES.postgres],
    env: [
      { name: "DATA_SOURCE_URI", value: exporterDataSource(cfg) },
      { name: "DATA_SOURCE_USER", value: pg.user },
      secretEnv("DATA_SOURCE_PASS", POSTGRES_NAMES.secret, "app-password"),
    ],
    ports: [{ name: "metrics", containerPort: POSTGRES_METRICS_PORT }],
    livenessProbe: httpProbe("/metrics", POSTGRES_METRICS_PORT, 30),
    readinessProbe: httpProbe("/metrics", POSTGRES_METRICS_PORT, 5),
    resources: sidecarResources(),
    securityContext: containerSecurity(65534),
    ...(cfg.tls.enabled ? { volumeMounts: [tlsMount("postgres")] } : {}),
  };
}

/**
 * postgres_exporter's DATA_SOURCE_URI (lib/pq's URL without the scheme): verify-full over loopback, which
 * PostgreSQL's leaf names (127.0.0.1), against the CA in the pod's TLS mount.
 */
export function exporterDataSource(cfg: StackConfig): string {
  const pg = cfg.postgres;
  if (!cfg.tls.enabled) return `127.0.0.1:${pg.port}/${pg.database}?sslmode=disable`;
  const q = new URLSearchParams({ sslmode: "verify-full", sslrootcert: serverTlsFiles("postgres").ca });
  if (cfg.tls.clientCertificates) {
    q.set("sslcert", clientPairIn("postgres").cert);
    q.set("sslkey", clientPairIn("postgres").key);
  }
  return `127.0.0.1:${pg.port}/${pg.database}?${q.toString().replace(/%2F/g, "/")}`;
}

/** Both containers that touch PGDATA run as the image's postgres user with the same mounts. */
function dataMounts() {
  return [{ name: "data", mountPath: PGDATA_MOUNT }];
}

/** initdb, the role and the database on first start; PGDATA's mode on every start. */
function initContainer(cfg: StackConfig, tmp: ReturnType<typeof scratch>): k8s.types.input.core.v1.Container {
  return {
    name: "initdb",
    image: images(cfg).postgres,
    command: ["sh", "-c", postgresInitScript()],
    env: [secretEnv("POSTGRES_PASSWORD", POSTGRES_NAMES.secret, "superuser-password")],
    resources: resources(cfg.postgres.cpu, cfg.postgres.memory),
    securityContext: containerSecurity(POSTGRES_UID),
    volumeMounts: [...dataMounts(), { name: "init", mountPath: INIT_SQL_DIR, readOnly: true }, tmp.mount],
  };
}

export function postgresStatefulSet(cfg: StackConfig): k8s.types.input.apps.v1.StatefulSet {
  const pg = cfg.postgres;
  const ready = ["pg_isready", "-h", "127.0.0.1", "-p", String(pg.port), "-U", "postgres"];
  const run = scratch("run", SOCKET_DIR);
  const tmp = scratch("tmp", "/tmp");
  const initTmp = scratch("init-tmp", "/tmp");
  const tls = cfg.tls.enabled
    ? tlsReloaderContainer({
        cfg,
        server: "postgres",
        image: reloaderImage(cfg, "postgres"),
        uid: POSTGRES_UID,
        command: postgresTlsReloadCommand(cfg, SOCKET_DIR),
        env: [secretEnv("PGPASSWORD", POSTGRES_NAMES.secret, "superuser-password")],
        mounts: [run.mount],
      })
    : undefined;
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: meta(cfg, "postgres"),
    spec: {
      replicas: 1,
      serviceName: "postgres",
      selector: { matchLabels: selectorLabels("postgres") },
      template: {
        metadata: {
          labels: labels("postgres"),
          annotations: { [CONFIG_CHECKSUM_ANNOTATION]: contentHash(Object.values(postgresConfigMap(cfg).data ?? {}).join("\n")) },
        },
        spec: {
          securityContext: { ...podSecurity(POSTGRES_UID), fsGroupChangePolicy: "OnRootMismatch" },
          // Fast shutdown finishes in seconds; the rest is for the checkpoint.
          // No container of the stack talks to the API server, so none gets a token (without this the ServiceAccount admission plugin adds a projected token volume).
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: 60,
          initContainers: [initContainer(cfg, initTmp)],
          containers: [
            {
              name: "postgres",
              image: images(cfg).postgres,
              // PID 1 is postgres itself: no entrypoint script between the kubelet and the server.
              command: ["postgres", "-D", PGDATA, "-c", `config_file=${POSTGRES_CONF_DIR}/postgresql.conf`],
              ports: [{ name: "postgres", containerPort: pg.port }],
              readinessProbe: execProbe(ready, 5),
              livenessProbe: { ...execProbe(ready, 10), failureThreshold: 6, initialDelaySeconds: 30 },
              lifecycle: { preStop: { exec: { command: ["sh", "-c", postgresPreStopScript()] } } },
              resources: resources(pg.cpu, pg.memory),
              securityContext: containerSecurity(POSTGRES_UID),
              volumeMounts: [
                ...dataMounts(),
                { name: "config", mountPath: POSTGRES_CONF_DIR, readOnly: true },
                { name: "shm", mountPath: "/dev/shm" },
                run.mount,
                tmp.mount,
                ...(tls ? [tlsMount("postgres")] : []),
              ],
            },
            exporter(cfg),
            ...(tls ? [tls.container] : []),
          ],
          volumes: [
            { name: "config", configMap: { name: POSTGRES_NAMES.configMap } },
            { name: "init", secret: { secretName: POSTGRES_NAMES.secret, items: [{ key: INIT_SQL, path: INIT_SQL }], defaultMode: 0o440 } },
            // Parallel query workers share memory through /dev/shm; the runtime's default is 64 MB.
            { name: "shm", emptyDir: { medium: "Memory", sizeLimit: memoryQuantity(Math.min(pg.sharedBuffers, 1024 ** 3)) } },
            run.volume,
            tmp.volume,
            initTmp.volume,
            ...(tls ? [tlsVolume("postgres"), tls.volume] : []),
          ],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: "data", labels: labels("postgres") },
          spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: memoryQuantity(pg.storage) } } },
        },
      ],
    },
  };
}
