/**
 * The Pulumi program: validate the stack config first (an invalid one fails `pulumi preview` before any
 * resource is registered), then the components, then the stack outputs.
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { connectionBudget as budgetOf } from "./config/index.ts";
import { loadPulumiStackConfig } from "./config/pulumi.ts";
import { deployPlan } from "./k8s/deploy-plan.ts";
import { clusterTarget } from "./k8s/target.ts";
import { directUrl as directUrlOf, pooledUrl as pooledUrlOf, prismaAdapterOptions as adapterOptionsOf, prismaDatabaseUrl, redisUrl as redisUrlOf } from "./k8s/manifests/index.ts";
import { StackNamespace } from "./k8s/namespace.ts";
import { NetworkPolicies } from "./k8s/network-policies.ts";
import { Monitoring } from "./k8s/monitoring.ts";
import { PgBouncer } from "./k8s/pgbouncer.ts";
import { Postgres } from "./k8s/postgres.ts";
import { ProbeApp } from "./k8s/probe.ts";
import { LocalRegistry } from "./k8s/registry.ts";
import { Redis } from "./k8s/redis.ts";
import { GeneratedSecrets } from "./k8s/secrets.ts";
import { GeneratedCertificates } from "./k8s/certificates.ts";
import { CLIENT_TLS_DIR, TLS_SECRET_NAMES } from "./k8s/manifests/index.ts";

const target = clusterTarget(process.env);
// On the local cluster, the versions its node really runs (see ./k8s/target.ts): version gates and
// version-dependent settings follow them.
const cfg = loadPulumiStackConfig(target.kind === "local" ? { versions: target.versions } : {});
const projectDir = fileURLToPath(new URL("..", import.meta.url));

// Which cluster, which image, which kubectl: the environment's target (the project's tooling) or else the
// stack's pooling:cluster (./k8s/deploy-plan.ts). The provider's logical name stays "kubernetes" on every
// target, so moving a stack between clusters replaces its objects rather than leaving two providers in the state.
const plan = deployPlan(target, cfg);
const provider = new k8s.Provider("kubernetes", plan.provider);
const opts = { providers: [provider] };

const ns = new StackNamespace("pooling", { config: cfg }, opts);
const generated = new GeneratedSecrets("pooling");
const secrets = generated.secrets;
// With pooling:tls on: the CA and leaves, kept in state, renewed by the `pulumi up` after a leaf's epoch ends.
const tls = cfg.tls.enabled ? new GeneratedCertificates("pooling", { config: cfg }) : undefined;
const certificates = tls?.certificates;
const postgres = new Postgres("postgres", { config: cfg, secrets, certificates, dependsOn: [ns] }, opts);
const pgbouncer = new PgBouncer("pgbouncer", { config: cfg, secrets, certificates, dependsOn: [ns, postgres] }, opts);
const redis = new Redis("redis", { config: cfg, secrets, certificates, dependsOn: [ns] }, opts);
new NetworkPolicies("pooling", { config: cfg, dependsOn: [ns] }, opts);
if (cfg.monitoring.operator) new Monitoring("monitoring", { config: cfg, dependsOn: [ns] }, opts);
// The logical name stays "kind-registry" though the container is now pooling-registry: logical names are
// permanent, and a new one would create the kube-public ConfigMap again under the same Kubernetes name
// before deleting the old one, which fails.
const image =
  plan.probe.source === "build"
    ? {
        imageName: plan.probe.imageName,
        registryServer: plan.probe.registryServer,
        registry: plan.probe.kindRegistry ? new LocalRegistry("kind-registry", {}, opts) : undefined,
        buildContext: join(projectDir, "app-probe"),
      }
    : { image: plan.probe.image };
const probe = new ProbeApp("probe", { config: cfg, secrets, certificates, ...image, dependsOn: [ns, pgbouncer, redis] }, opts);

export const namespace = ns.name;
// Which output each Prisma generation uses (docs/kubernetes.md, "Which outputs a Prisma app uses"). Both get the pool bound and acquire timeout
// the connection budget counted for one app instance (pooling:probe.postgresPoolMax and
// pooling:probe.postgresConnectionTimeout), from the same function.
/** Prisma 6 and older: `url`, pooled through PgBouncer with `pgbouncer=true&connection_limit=N&pool_timeout=T`. */
export const databaseUrl = pulumi.secret(secrets.apply((s) => prismaDatabaseUrl(cfg, s)));
/** Prisma 7 (and any node-postgres Pool): the pooled URL with no query parameters, given to `@prisma/adapter-pg`. */
export const pooledUrl = pulumi.secret(secrets.apply((s) => pooledUrlOf(cfg, s)));
/** Prisma 7: the node-postgres Pool options `@prisma/adapter-pg` gets next to `pooledUrl` (`max`, timeouts). */
export const prismaAdapterOptions = adapterOptionsOf(cfg);
/** Straight to PostgreSQL, for schema changes (Prisma's `directUrl`; Prisma 7's `prisma.config.ts` datasource). */
export const directUrl = pulumi.secret(secrets.apply((s) => directUrlOf(cfg, s)));
export const redisUrl = pulumi.secret(secrets.apply((s) => redisUrlOf(cfg, s)));
export const probeUrl = pulumi.interpolate`${plan.kubectl} -n ${namespace} port-forward svc/${probe.service.metadata.name} ${cfg.probe.port}:${cfg.probe.port}  # then http://127.0.0.1:${cfg.probe.port}/probe`;
/**
 * With TLS on: the stack's CA certificate (PEM; not secret), what every URL's `sslrootcert` and
 * redis-cli's `--cacert` must point at. In the cluster it is `ca.crt` of the Secret named by
 * `clientTlsSecret`, which a client pod mounts at the path the URLs name.
 */
export const caCertificate = tls?.caCertificate;
export const clientTls = cfg.tls.enabled ? { secret: TLS_SECRET_NAMES.client, mountPath: CLIENT_TLS_DIR } : undefined;
/** Server connections PgBouncer may open, PostgreSQL's usable limit, the headroom left. */
export const connectionBudget = budgetOf(cfg);
