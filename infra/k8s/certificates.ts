/**
 * The stack's certificates inside the Pulumi program: one CA and a set of leaves, made by the same code as
 * the local stack's (infra/render/certificates.ts on lib/pki.ts) and kept in state by the engine's own
 * `pulumi:index:Stash`, as secrets, the way the passwords are (./secrets.ts). Not @pulumi/tls: its
 * provider cannot be built from the Go module proxy these machines have (docs/tls.md, "Kubernetes").
 *
 * - The CA: one Stash, `ignoreChanges: ["input"]`, so the first run's CA stays for the life of the stack.
 * - The leaves: one Stash whose name carries the renewal epoch (⌊now / (lifetime − renewBefore)⌋,
 *   renewalEpoch) and the issuance key (the names and lifetimes the leaves were made for). While both stay
 *   the same, every run finds the same Stash and keeps its first value; once the epoch moves on, the next
 *   `pulumi up` creates a Stash of that name with leaves fresh from this run (signed by the kept CA) and
 *   deletes the old one, so the TLS Secrets change and the pods' reloaders tell the servers.
 * Before any Secret gets them, the kept leaves are checked against the kept CA (checkStackLeaves): an
 * expired leaf or one the CA did not sign (a CA Stash replaced by hand) fails the run with its
 * CertificateError, so nothing broken is installed.
 */
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config/index.ts";
import { checkStackLeaves, createStackCa, issueStackLeaves, renewalEpoch, type StackLeaves } from "../render/index.ts";
import type { PemPair } from "../../lib/pki.ts";
import { issuanceKey, kubernetesServerNames, type StackCertificates } from "./manifests/index.ts";

/** The leaves Stash's logical name for a run at `now`: a new name is a new set. */
export function leavesStashName(name: string, cfg: StackConfig, now = new Date()): string {
  return `${name}-tls-leaves-e${renewalEpoch(cfg.tls, now)}-${issuanceKey(cfg)}`;
}

export interface GeneratedCertificatesArgs {
  /** The validated stack config: `pooling:tls` (lifetime, renewBefore) and the namespace the leaves name. */
  config: StackConfig;
  /** The time the renewal epoch is taken at; now by default (tests pin it). */
  now?: Date;
}

export class GeneratedCertificates extends pulumi.ComponentResource {
  /** The CA's certificate and the current leaves; a Pulumi secret (the leaves' keys are in it). */
  readonly certificates: pulumi.Output<StackCertificates>;
  /** The CA's certificate alone: what clients trust. Not secret. */
  readonly caCertificate: pulumi.Output<string>;

  constructor(name: string, args: GeneratedCertificatesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("pooling:tls:GeneratedCertificates", name, {}, opts);
    const cfg = args.config;
    const now = args.now ?? new Date();
    const keep = { parent: this, ignoreChanges: ["input"] };
    const freshCa = pulumi.output(createStackCa(cfg, now));
    const ca = new pulumi.Stash(`${name}-tls-ca`, { input: pulumi.secret(freshCa) }, keep).output as pulumi.Output<PemPair>;
    const freshLeaves = ca.apply((pair) => issueStackLeaves(cfg, pair, kubernetesServerNames(cfg), now));
    const leaves = new pulumi.Stash(leavesStashName(name, cfg, now), { input: pulumi.secret(freshLeaves) }, keep).output as pulumi.Output<StackLeaves>;
    this.certificates = pulumi.secret(
      pulumi.all([ca, leaves]).apply(([caPair, kept]): StackCertificates => {
        checkStackLeaves(kept, caPair.cert, now);
        return { caCert: caPair.cert, leaves: kept };
      }),
    );
    this.caCertificate = pulumi.unsecret(ca.apply((pair) => pair.cert));
    this.registerOutputs({ certificates: this.certificates, caCertificate: this.caCertificate });
  }
}
