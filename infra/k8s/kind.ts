/**
 * The local kind cluster and its registry, as kind's local-registry guide sets them up. Shared by the
 * Pulumi program (the provider's context, stack outputs, the registry container) and scripts/pulumi.ts
 * (cluster creation, each node's containerd mirror config). Everything about the registry derives from
 * here: its name, its ports, the `localhost:<port>` images are pushed to and pulled from.
 */
export const KIND = {
  /** `kind create cluster --name`; kubectl's context is `kind-<name>`. */
  cluster: "pooling",
  context: "kind-pooling",
  /** The Docker network kind creates; the registry joins it so nodes reach it by name. */
  network: "kind",
  /**
   * Not the guide's `kind-registry`: many machines already run that container from the guide or another
   * project, and a second one by that name cannot be created.
   */
  registryContainer: "pooling-registry",
  /**
   * Port on the host (and the name containerd's mirror config answers to). Not the guide's 5001, which
   * other kind setups already publish, and clear of the ports dev tools default to nearby (5000 Flask and
   * macOS AirPlay, 5050 pgAdmin, 5055 Overseerr, 5173 Vite, 5432 PostgreSQL, 5500 Live Server).
   * Published on 127.0.0.1 only.
   */
  registryHostPort: 5391,
  /** Port inside the registry container (the registry image's own). */
  registryPort: 5000,
  /**
   * The kind guide's `registry:2`, pinned to its last patch release: docker-library/official-images
   * `library/registry` gained `2.8.3` in d899d15 ("Update registry to v2.8.3 release"); the file later
   * moved to 3.x (25ebf49 dropped the Alpine 3.18 builds), but published tags stay pullable. Kept on 2.x
   * because the guide's setup (port 5000, /etc/docker/registry) is what the nodes' hosts.toml assumes.
   */
  registryImage: "registry:2.8.3",
} as const;

/** `localhost:<registryHostPort>`: where images are pushed from the host and what the nodes pull. */
export const registryHost = (): string => `localhost:${KIND.registryHostPort}`;

/** containerd's certs.d folder on a node for the registry host; hosts.toml goes in it. */
export const registryCertsDir = (): string => `/etc/containerd/certs.d/${registryHost()}`;

/** containerd's hosts.toml for the registry host on each node: pull from the registry container instead. */
export function registryHostsToml(): string {
  return `[host."http://${KIND.registryContainer}:${KIND.registryPort}"]\n`;
}
