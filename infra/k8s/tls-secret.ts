/** A workload's TLS Secret as a resource: what the components share (./certificates.ts makes the set). */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config/index.ts";
import { PoolingError } from "../errors.ts";
import type { TlsServer } from "../render/index.ts";
import { clientTlsSecret, clientTlsSecretData, serverTlsSecret, serverTlsSecretData, type StackCertificates } from "./manifests/index.ts";

/** pooling:tls.enabled, but a component was given no certificates: a wiring mistake in the program. */
export class CertificatesMissingError extends PoolingError {
  readonly code = "POOLING_TLS_CERTIFICATES_MISSING";
  constructor(readonly component: string) {
    super(`pooling:tls.enabled is true but ${component} was given no certificates: pass GeneratedCertificates' certificates in its args`);
  }
}

/**
 * The Secret `<name>-tls` carrying `server`'s files ("client": what application pods mount), or none when
 * TLS is off. Returned as a list, for `dependsOn`.
 */
export function tlsSecret(
  name: string,
  server: TlsServer | "client",
  cfg: StackConfig,
  certificates: pulumi.Output<StackCertificates> | undefined,
  opts: pulumi.CustomResourceOptions,
): k8s.core.v1.Secret[] {
  if (!cfg.tls.enabled) return [];
  if (!certificates) throw new CertificatesMissingError(name);
  const spec =
    server === "client" ? clientTlsSecret(cfg, certificates.apply((c) => clientTlsSecretData(cfg, c))) : serverTlsSecret(cfg, server, certificates.apply((c) => serverTlsSecretData(cfg, server, c)));
  return [new k8s.core.v1.Secret(`${name}-tls`, spec, opts)];
}
