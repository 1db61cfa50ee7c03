/**
 * Certificates on Kubernetes, as data: the names each server's leaf carries (every name its clients use),
 * the Secrets that carry the set into the pods, where they are mounted, and the file names the renderers
 * get. The set itself is made in the Pulumi program (infra/k8s/certificates.ts) or by the render CLI.
 */
import type * as k8s from "@pulumi/kubernetes";
import type { StackConfig } from "../../config/index.ts";
import { contentHash, TLS_SERVERS, type ServerNames, type StackLeaves, type TlsFiles, type TlsServer } from "../../render/index.ts";
import { TLS_KEYS } from "../../render/names.ts";
import { APPS, REDACTED, secret, type AppKey, type SecretData } from "./common.ts";

/** The CA's certificate and every leaf: what the TLS Secrets are made from. The CA's key stays in state. */
export interface StackCertificates {
  caCert: string;
  leaves: StackLeaves;
}

/** Each server's TLS Secret is mounted as a whole directory here (never subPath: a changed Secret must reach the pod). */
export const TLS_DIRS: Record<TlsServer, string> = { postgres: "/etc/postgresql-tls", pgbouncer: "/etc/pgbouncer-tls", redis: "/etc/redis-tls" };

export const TLS_SECRET_NAMES: Record<TlsServer | "client", string> = { postgres: "postgres-tls", pgbouncer: "pgbouncer-tls", redis: "redis-tls", client: "pooling-client-tls" };

/** The keys of every TLS Secret, also the file names in its mount (the kubernetes.io/tls names plus the CA); defined with the render output's other names. */
export { TLS_KEYS };

/** The volume name every TLS mount uses in its pod. */
export const TLS_VOLUME = "tls";

const SERVER_APP: Record<TlsServer, AppKey> = { postgres: "postgres", pgbouncer: "pgbouncer", redis: "redis" };

/**
 * The names a server's clients use: its Service in every form the cluster's DNS answers
 * (`<svc>`, `<svc>.<ns>`, `<svc>.<ns>.svc`, `<svc>.<ns>.svc.cluster.local`), and `localhost`/`127.0.0.1`
 * for what runs in its own pod (the exporters, the reloaders, the probes). The full name comes first: it is
 * the leaf's CN.
 */
export function kubernetesServerNames(cfg: StackConfig): Record<TlsServer, ServerNames> {
  const names = (server: TlsServer): ServerNames => {
    const svc = APPS[SERVER_APP[server]].name;
    const ns = cfg.namespace;
    return { dnsNames: [`${svc}.${ns}.svc.cluster.local`, `${svc}.${ns}.svc`, `${svc}.${ns}`, svc, "localhost"], ipAddresses: ["127.0.0.1"] };
  };
  return { postgres: names("postgres"), pgbouncer: names("pgbouncer"), redis: names("redis") };
}

/**
 * What a set of leaves was made for: the names, the lifetime, whether clients get a pair. A change makes a
 * new set at the next `pulumi up` (it is part of the leaves' Stash name), so a renamed namespace never
 * keeps leaves that name the old one.
 */
export function issuanceKey(cfg: StackConfig): string {
  const { lifetime, renewBefore } = cfg.tls;
  return contentHash(JSON.stringify({ names: kubernetesServerNames(cfg), lifetime, renewBefore })).slice(0, 8);
}

/** The files a server reads, in its pod. */
export function serverTlsFiles(server: TlsServer): TlsFiles {
  const dir = TLS_DIRS[server];
  return { ca: `${dir}/${TLS_KEYS.ca}`, cert: `${dir}/${TLS_KEYS.cert}`, key: `${dir}/${TLS_KEYS.key}` };
}

/** The client pair in a server's mount: what its in-pod clients show when clients must present certificates. */
export function clientPairIn(server: TlsServer): { cert: string; key: string } {
  const dir = TLS_DIRS[server];
  return { cert: `${dir}/${TLS_KEYS.clientCert}`, key: `${dir}/${TLS_KEYS.clientKey}` };
}

/** A server's Secret: the CA, its own pair and, with client certificates, the client pair its in-pod clients use. */
export function serverTlsSecretData(cfg: StackConfig, server: TlsServer, certs: StackCertificates): Record<string, string> {
  const client: Record<string, string> = cfg.tls.clientCertificates ? { [TLS_KEYS.clientCert]: certs.leaves.client.cert, [TLS_KEYS.clientKey]: certs.leaves.client.key } : {};
  return { [TLS_KEYS.ca]: certs.caCert, [TLS_KEYS.cert]: certs.leaves[server].cert, [TLS_KEYS.key]: certs.leaves[server].key, ...client };
}

/** What an application's pod mounts at CLIENT_TLS_DIR: the CA and, when clients must show one, the client pair. */
export function clientTlsSecretData(cfg: StackConfig, certs: StackCertificates): Record<string, string> {
  const pair: Record<string, string> = cfg.tls.clientCertificates ? { [TLS_KEYS.cert]: certs.leaves.client.cert, [TLS_KEYS.key]: certs.leaves.client.key } : {};
  return { [TLS_KEYS.ca]: certs.caCert, ...pair };
}

/** Every TLS Secret's keys with REDACTED values: the render CLI's output without --with-secrets. */
export function redactedCertificates(): StackCertificates {
  const pair = { cert: REDACTED, key: REDACTED };
  return { caCert: REDACTED, leaves: { postgres: pair, pgbouncer: pair, redis: pair, client: pair } };
}

export function serverTlsSecret(cfg: StackConfig, server: TlsServer, data: SecretData): k8s.types.input.core.v1.Secret {
  return secret(cfg, SERVER_APP[server], TLS_SECRET_NAMES[server], data);
}

export function clientTlsSecret(cfg: StackConfig, data: SecretData): k8s.types.input.core.v1.Secret {
  return secret(cfg, "probe", TLS_SECRET_NAMES.client, data);
}

/**
 * The Secret as a volume. 0440, owned by root (the kubelet writes Secret files as root) with group fsGroup
 * (the kubelet adds group read on read-only volumes, pkg/volume/volume_linux.go): PostgreSQL accepts a key
 * owned by root with no more than u=rw,g=r (src/backend/libpq/be-secure-common.c check_ssl_key_file at
 * REL_15: "owned by the database user or root", and for root "must have permissions u=rw (0600) or less if
 * owned by the database user, or permissions u=rw,g=r (0640) or less if owned by root"); the other
 * containers of the pod read through fsGroup, a supplementary group of every container.
 */
export function tlsVolume(server: TlsServer | "client"): k8s.types.input.core.v1.Volume {
  return { name: TLS_VOLUME, secret: { secretName: TLS_SECRET_NAMES[server], defaultMode: 0o440 } };
}

export function tlsMount(server: TlsServer): k8s.types.input.core.v1.VolumeMount {
  return { name: TLS_VOLUME, mountPath: TLS_DIRS[server], readOnly: true };
}

/** Every server's TLS Secret data, in TLS_SERVERS order. */
export function allServerTlsData(cfg: StackConfig, certs: StackCertificates): Array<[TlsServer, Record<string, string>]> {
  return TLS_SERVERS.map((server) => [server, serverTlsSecretData(cfg, server, certs)]);
}
