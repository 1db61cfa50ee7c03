/** The dev stack's config, with overrides, for the k8s tests; and helpers to walk rendered manifests. */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { rawFromStackYaml } from "../../infra/config/file.ts";
import { parseStackConfig, type StackConfig } from "../../infra/config/index.ts";
import type { StackSecrets } from "../../infra/render/index.ts";

export const PROJECT_DIR = fileURLToPath(new URL("../..", import.meta.url));
export const DEV_STACK_FILE = `${PROJECT_DIR}Pulumi.dev.yaml`;

/** The `pooling:` values of Pulumi.dev.yaml, namespace prefix stripped. */
export function devRaw(): Record<string, unknown> {
  return rawFromStackYaml(readFileSync(DEV_STACK_FILE, "utf8"), "dev");
}

/** Stack config as the Pulumi engine hands it to a program: `pooling:` keys, objects as JSON. */
export function engineConfig(raw: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [`pooling:${k}`, typeof v === "string" ? v : JSON.stringify(v)]));
}

type Overrides = Partial<Record<"postgres" | "pgbouncer" | "redis" | "probe" | "monitoring" | "tls" | "cluster", Record<string, unknown>>> & { namespace?: string };

export function devConfig(overrides: Overrides = {}): StackConfig {
  const raw = devRaw();
  for (const [section, values] of Object.entries(overrides)) {
    raw[section] = typeof values === "object" ? { ...(raw[section] as object), ...values } : values;
  }
  return parseStackConfig(raw, { stack: "dev" });
}

/** Distinct, recognisable secrets: a test can search every manifest for each of them. */
export const KNOWN_SECRETS: StackSecrets = {
  superuser: { password: "SuperuserPw0000000000000000000001", salt: Buffer.alloc(16, 1).toString("base64") },
  app: { password: "AppPw00000000000000000000000000002", salt: Buffer.alloc(16, 2).toString("base64") },
  pgbouncerAdmin: { password: "AdminPw000000000000000000000000003", salt: Buffer.alloc(16, 3).toString("base64") },
  pgbouncerStats: { password: "StatsPw000000000000000000000000004", salt: Buffer.alloc(16, 4).toString("base64") },
  redisPassword: "RedisPw000000000000000000000000005",
};
export const KNOWN_PASSWORDS = [
  KNOWN_SECRETS.superuser.password,
  KNOWN_SECRETS.app.password,
  KNOWN_SECRETS.pgbouncerAdmin.password,
  KNOWN_SECRETS.pgbouncerStats.password,
  KNOWN_SECRETS.redisPassword,
];

// The shapes the tests read; manifests are plain data, so a cast is all a test needs.
export interface ProbeLike {
  exec?: { command: string[] };
  tcpSocket?: { port: number | string };
  httpGet?: { path: string; port: number | string };
}
export interface ContainerLike {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  workingDir?: string;
  livenessProbe?: ProbeLike;
  readinessProbe?: ProbeLike;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  securityContext?: Record<string, unknown> & { capabilities?: { drop?: string[] } };
  volumeMounts?: Array<{ name: string; mountPath: string; subPath?: string }>;
}
export interface PodTemplateLike {
  metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    containers: ContainerLike[];
    initContainers?: ContainerLike[];
    securityContext?: Record<string, unknown>;
    volumes?: Array<Record<string, unknown> & { name: string }>;
    terminationGracePeriodSeconds?: number;
  };
}
export interface ManifestLike {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: { template?: PodTemplateLike; replicas?: number; minAvailable?: number; strategy?: unknown; minReadySeconds?: number };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

export const asManifest = (o: unknown) => o as ManifestLike;

export function podTemplates(objects: readonly unknown[]): Array<{ name: string; template: PodTemplateLike }> {
  return objects
    .map(asManifest)
    .filter((m) => m.spec?.template)
    .map((m) => ({ name: `${m.kind}/${m.metadata.name}`, template: m.spec!.template! }));
}
