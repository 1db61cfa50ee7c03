/**
 * The local kind cluster and its registry, as kind's local-registry guide sets them up. Shared by the
 * Pulumi program (stack outputs, the registry container) and scripts/pulumi.ts (cluster creation).
 */
export const KIND = {
  /** `kind create cluster --name`; kubectl's context is `kind-<name>`. */
  cluster: "pooling",
  context: "kind-pooling",
  /** The Docker network kind creates; the registry joins it so nodes reach it by name. */
  network: "kind",
  registryContainer: "kind-registry",
  /** Port on the host (and the name containerd's mirror config answers to). */
  registryHostPort: 5001,
  /** Port inside the registry container. */
  registryPort: 5000,
  /** Pinned: the registry the kind guide uses. */
  registryImage: "registry:2.8.3",
} as const;

/** containerd's hosts.toml for localhost:5001 on each node: pull from the registry container instead. */
export function registryHostsToml(): string {
  return `[host."http://${KIND.registryContainer}:${KIND.registryPort}"]\n`;
}
