/**
 * PgBouncer on Kubernetes. Reloadable settings reach the pods through the ConfigMap alone (the reloader
 * sends RELOAD); settings PgBouncer reads only at start change the checksum annotation, which rolls them.
 */
import type * as k8s from "@pulumi/kubernetes";
import { EXPORTER_BINARIES, PGBOUNCER_ROLLOUT, type StackConfig } from "../../config/index.ts";
import { pgbouncerRestartChecksum, renderPgbouncerHba, renderPgbouncerIni, renderUserlist, type PgbouncerRuntime, type StackSecrets } from "../../render/index.ts";
import {
  sidecarResources,
  configMap,
  containerSecurity,
  execProbe,
  httpProbe,
  images,
  labels,
  meta,
  podSecurity,
  resources,
  scratch,
  secret,
  type SecretData,
  secretEnv,
  selectorLabels,
  serviceHost,
  service,
} from "./common.ts";
import { clientPairIn, serverTlsFiles, tlsMount, tlsVolume } from "./tls.ts";
import { watchedTlsFiles } from "./tls-reload.ts";
import { HEARTBEAT_FILE, loopbackTlsFiles, loopbackTlsParams, type LoopbackTlsFiles, PGBOUNCER_MIN_READY_SECONDS, pgbouncerTerminationGraceSeconds, preStopScript, reloaderProbeCommand, reloaderScript } from "./pgbouncer-drain.ts";
import { FILES, PGBOUNCER_ADMIN_DATABASE } from "../../render/names.ts";

/** The postgres user of the edoburu/pgbouncer (Alpine) image. */
export const PGBOUNCER_UID = 70;
export const PGBOUNCER_METRICS_PORT = 9127;
export const PGBOUNCER_CONF_DIR = "/etc/pgbouncer";
export const PGBOUNCER_AUTH_DIR = "/etc/pgbouncer-auth";
/** The pod-template annotation holding {@link pgbouncerRestartChecksum}. */
export const RESTART_CHECKSUM_ANNOTATION = "pooling.dev/pgbouncer-restart-checksum";

export const PGBOUNCER_NAMES = { configMap: "pgbouncer-config", secret: "pgbouncer-secret", pdb: "pgbouncer" } as const;

export function pgbouncerRuntime(cfg: StackConfig): PgbouncerRuntime {
  return {
    listenAddr: "0.0.0.0",
    serverHost: serviceHost(cfg, "postgres"),
    serverPort: cfg.postgres.port,
    authFile: `${PGBOUNCER_AUTH_DIR}/userlist.txt`,
    hbaFile: `${PGBOUNCER_CONF_DIR}/pgbouncer_hba.conf`,
    // Who may reach PgBouncer at all is the NetworkPolicy's job; hba keeps the admin user on loopback.
    clientNetworks: ["0.0.0.0/0", "::/0"],
    // No socket: the root filesystem is read-only and every client comes over TCP.
    unixSocketDir: "",
    ...(cfg.tls.enabled ? { tls: { ...serverTlsFiles("pgbouncer"), ...(cfg.tls.clientCertificates ? { clientCert: clientPairIn("pgbouncer").cert, clientKey: clientPairIn("pgbouncer").key } : {}) } } : {}),
  };
}

export function pgbouncerConfigMap(cfg: StackConfig): k8s.types.input.core.v1.ConfigMap {
  const rt = pgbouncerRuntime(cfg);
  return configMap(cfg, "pgbouncer", PGBOUNCER_NAMES.configMap, {
    [FILES.pgbouncerIni]: renderPgbouncerIni(cfg, rt),
    [FILES.pgbouncerHba]: renderPgbouncerHba(cfg, rt),
  });
}

/** userlist.txt (SCRAM verifiers) and the console passwords the reloader and the exporter log in with. */
export function pgbouncerSecretData(cfg: StackConfig, s: StackSecrets): Record<string, string> {
  return {
    [FILES.userlist]: renderUserlist(cfg, s),
    "admin-password": s.pgbouncerAdmin.password,
    "stats-password": s.pgbouncerStats.password,
  };
}

export function pgbouncerSecret(cfg: StackConfig, data: SecretData) {
  return secret(cfg, "pgbouncer", PGBOUNCER_NAMES.secret, data);
}

export function pgbouncerService(cfg: StackConfig) {
  return service(cfg, "pgbouncer", [
    { name: "pgbouncer", port: cfg.pgbouncer.port },
    { name: "metrics", port: PGBOUNCER_METRICS_PORT },
  ]);
}

/**
 * Keeps all but one replica up through voluntary disruptions. None for one replica: minAvailable 1 of 1
 * would block every node drain forever.
 */
export function pgbouncerPodDisruptionBudget(cfg: StackConfig): k8s.types.input.policy.v1.PodDisruptionBudget | undefined {
  const replicas = cfg.pgbouncer.replicas;
  if (replicas <= 1) return undefined;
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: meta(cfg, "pgbouncer", PGBOUNCER_NAMES.pdb),
    spec: { minAvailable: replicas - 1, selector: { matchLabels: selectorLabels("pgbouncer") } },
  };
}

const adminPassword = () => secretEnv("PGPASSWORD", PGBOUNCER_NAMES.secret, "admin-password");

/**
 * pg_isready over the same TLS as every other client in the pod: with pooling:tls.clientCertificates,
 * PgBouncer (client_tls_sslmode verify-full) ends a handshake without a client certificate before any
 * answer, so a bare pg_isready would fail every probe and the kubelet would restart a healthy PgBouncer
 * (seen on the local cluster). `-d` takes a whole connection string (pg_isready's documentation).
 */
const isReady = (cfg: StackConfig) => ["pg_isready", "-q", "-d", `host=127.0.0.1 port=${cfg.pgbouncer.port} user=${cfg.pgbouncer.statsUser} dbname=${PGBOUNCER_ADMIN_DATABASE}${loopbackTlsParams(cfg, "pgbouncer")}`];

function pgbouncerContainer(cfg: StackConfig): k8s.types.input.core.v1.Container {
  const pb = cfg.pgbouncer;
  return {
    name: "pgbouncer",
    image: images(cfg).pgbouncer,
    // PID 1 is pgbouncer itself (the image's CMD, without its entrypoint.sh, which would rewrite the ini).
    command: ["pgbouncer", `${PGBOUNCER_CONF_DIR}/pgbouncer.ini`],
    env: [adminPassword()],
    ports: [{ name: "pgbouncer", containerPort: pb.port }],
    // Exec probes, inside the container: a tcpSocket probe comes from the node, and the NetworkPolicy
    // (only the probe app may reach this port) cuts it off on CNIs that enforce it strictly
    // (kubernetes-sigs/kind#3875, kube-network-policies#150). pg_isready needs no password: any answer
    // to its startup packet, even an authentication request, means PgBouncer is accepting connections.
    readinessProbe: execProbe(isReady(cfg), 5),
    livenessProbe: { ...execProbe(isReady(cfg), 10), failureThreshold: 6 },
    lifecycle: { preStop: { exec: { command: ["sh", "-c", preStopScript()] } } },
    resources: resources(pb.cpu, pb.memory),
    securityContext: containerSecurity(PGBOUNCER_UID),
    volumeMounts: [
      // Whole directories, never subPath: only then does the kubelet swap in a changed ConfigMap or Secret.
      { name: "config", mountPath: PGBOUNCER_CONF_DIR, readOnly: true },
      { name: "auth", mountPath: PGBOUNCER_AUTH_DIR, readOnly: true },
      ...tlsMounts(cfg),
    ],
  };
}

const tlsMounts = (cfg: StackConfig) => (cfg.tls.enabled ? [tlsMount("pgbouncer")] : []);

function reloaderContainer(cfg: StackConfig): k8s.types.input.core.v1.Container {
  // The TLS files too: PgBouncer builds a new TLS context from them on RELOAD (infra/render/pgbouncer.ts).
  const tlsFiles = cfg.tls.enabled ? watchedTlsFiles(cfg, "pgbouncer") : [];
  const files = [`${PGBOUNCER_CONF_DIR}/pgbouncer.ini`, `${PGBOUNCER_CONF_DIR}/pgbouncer_hba.conf`, `${PGBOUNCER_AUTH_DIR}/userlist.txt`, ...tlsFiles];
  const run = scratch("reloader-run", HEARTBEAT_FILE.replace(/\/[^/]+$/, ""));
  return {
    name: "reloader",
    image: images(cfg).pgbouncer,
    command: ["sh", "-c", reloaderScript(cfg, files)],
    env: [adminPassword()],
    livenessProbe: { ...execProbe(reloaderProbeCommand("liveness"), 30), initialDelaySeconds: 10 },
    // A pod is Ready only when every container is: a slow first readiness probe here would hold every
    // new PgBouncer pod out of its Service, and every rollout step, for its whole period.
    readinessProbe: execProbe(reloaderProbeCommand("readiness"), 5),
    resources: sidecarResources(),
    securityContext: containerSecurity(PGBOUNCER_UID),
    volumeMounts: [
      { name: "config", mountPath: PGBOUNCER_CONF_DIR, readOnly: true },
      { name: "auth", mountPath: PGBOUNCER_AUTH_DIR, readOnly: true },
      ...tlsMounts(cfg),
      run.mount,
    ],
  };
}

function exporterContainer(cfg: StackConfig): k8s.types.input.core.v1.Container {
  return {
    name: "pgbouncer-exporter",
    image: images(cfg).pgbouncerExporter,
    command: [EXPORTER_BINARIES.pgbouncer],
    // The kubelet expands $(STATS_PASSWORD) from the Secret; the pod spec holds only the reference.
    args: [
      `--pgBouncer.connectionString=${exporterConnectionString(cfg, "$(STATS_PASSWORD)")}`,
      `--web.listen-address=:${PGBOUNCER_METRICS_PORT}`,
    ],
    env: [secretEnv("STATS_PASSWORD", PGBOUNCER_NAMES.secret, "stats-password")],
    ports: [{ name: "metrics", containerPort: PGBOUNCER_METRICS_PORT }],
    livenessProbe: httpProbe("/metrics", PGBOUNCER_METRICS_PORT, 30),
    readinessProbe: httpProbe("/metrics", PGBOUNCER_METRICS_PORT, 5),
    resources: sidecarResources(),
    securityContext: containerSecurity(65534),
    volumeMounts: tlsMounts(cfg),
  };
}

/** Where the exporter reaches PgBouncer: the pod's port and TLS mount, or a local stack's port and files. */
export interface ExporterTarget {
  port: number;
  files: LoopbackTlsFiles;
}

/**
 * pgbouncer_exporter's `--pgBouncer.connectionString` (lib/pq): the stats user on loopback, verify-full
 * against the stack's CA (and the client pair with pooling:tls.clientCertificates), or plaintext with TLS
 * off. test/tls/pgbouncer-exporter-driver.test.ts opens this very string with lib/pq against PgBouncer.
 */
export function exporterConnectionString(cfg: StackConfig, password: string, at: ExporterTarget = { port: cfg.pgbouncer.port, files: loopbackTlsFiles("pgbouncer") }): string {
  const params = loopbackTlsParams(cfg, "pgbouncer", at.files).trim();
  const query = params === "" ? "sslmode=disable" : params.split(" ").join("&");
  return `postgres://${cfg.pgbouncer.statsUser}:${password}@127.0.0.1:${at.port}/${PGBOUNCER_ADMIN_DATABASE}?${query}`;
}

export function pgbouncerDeployment(cfg: StackConfig): k8s.types.input.apps.v1.Deployment {
  const pb = cfg.pgbouncer;
  const run = scratch("reloader-run", HEARTBEAT_FILE.replace(/\/[^/]+$/, ""));
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: meta(cfg, "pgbouncer"),
    spec: {
      replicas: pb.replicas,
      selector: { matchLabels: selectorLabels("pgbouncer") },
      // One old pod at a time makes way for its replacement, and still serves its clients while it drains;
      // the connection budget counts that pod (PGBOUNCER_ROLLOUT in infra/config/checks.ts). A step lasts
      // longer than the drain, so a scaled-down pod is gone before the next one is.
      strategy: { type: "RollingUpdate", rollingUpdate: { ...PGBOUNCER_ROLLOUT } },
      minReadySeconds: PGBOUNCER_MIN_READY_SECONDS,
      template: {
        metadata: {
          labels: labels("pgbouncer"),
          annotations: { [RESTART_CHECKSUM_ANNOTATION]: pgbouncerRestartChecksum(cfg, pgbouncerRuntime(cfg)) },
        },
        spec: {
          securityContext: podSecurity(PGBOUNCER_UID),
          // No container of the stack talks to the API server, so none gets a token (without this the ServiceAccount admission plugin adds a projected token volume).
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: pgbouncerTerminationGraceSeconds(cfg),
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: "kubernetes.io/hostname",
              // Spread when there are nodes to spread over; a one-node kind cluster still schedules all.
              whenUnsatisfiable: "ScheduleAnyway",
              labelSelector: { matchLabels: selectorLabels("pgbouncer") },
            },
          ],
          containers: [pgbouncerContainer(cfg), reloaderContainer(cfg), exporterContainer(cfg)],
          volumes: [
            { name: "config", configMap: { name: PGBOUNCER_NAMES.configMap } },
            { name: "auth", secret: { secretName: PGBOUNCER_NAMES.secret, items: [{ key: FILES.userlist, path: FILES.userlist }], defaultMode: 0o440 } },
            run.volume,
            ...(cfg.tls.enabled ? [tlsVolume("pgbouncer")] : []),
          ],
        },
      },
    },
  };
}
