/**
 * `pooling:cluster`: which cluster `pulumi up` deploys to and where the probe's image comes from. kind is
 * the default and needs nothing set; another cluster is a kubeconfig context and an image source, not a
 * code change. What kind's defaults are (its context, its registry) is the kind target's knowledge
 * (infra/k8s/kind.ts); this layer only says when they apply, and test/unit/cluster-config.test.ts ties the
 * values quoted below to that file.
 *
 * `npm run up -- --cluster local` and `--render-to DIR` point the program elsewhere through the environment
 * (infra/k8s/target.ts); they take precedence over this section.
 */
import { z } from "zod";
import { choice, optionalText } from "./fields.ts";
import { key, rule, type Rule } from "./rule.ts";

export const CLUSTER_TYPES = ["kind", "existing"] as const;

/**
 * The grammar of an image reference, from distribution/reference's regexp.go (the package Docker,
 * containerd and the docker provider parse references with): lower-case path components joined by one
 * period, one or two underscores or any dashes; an optional `host[:port]/` first; a tag of at most 128
 * word characters, dots and dashes; a digest `algorithm:hex` of at least 32 hex digits.
 */
const alphanumeric = "[a-z0-9]+";
const separator = "(?:[._]|__|[-]+)";
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const domainNameComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const domainAndPort = `(?:${domainNameComponent}(?:\\.${domainNameComponent})*|\\[(?:[a-fA-F0-9:]+)\\])(?::[0-9]+)?`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const namePat = `(?:${domainAndPort}/)?${remoteName}`;
const tagPat = "[\\w][\\w.-]{0,127}";
const digestPat = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
const REFERENCE = new RegExp(`^(${namePat})(?::(${tagPat}))?(?:@(${digestPat}))?$`);
const REGISTRY = new RegExp(`^(${domainAndPort})(?:/${remoteName})?$`);
/** reference.go's NameTotalLengthMax: a repository name (host and path) longer than this is refused. */
const NAME_TOTAL_LENGTH_MAX = 255;

/** The repository the probe's image is pushed as, under pooling:cluster.probeRegistry. */
export const PROBE_REPOSITORY = "pooling-probe";

/**
 * Why `image` is not a reference the cluster can pull as is, or undefined. A tag or a digest is required
 * and `latest` is refused, as the policy pack refuses them for every container (policy/policies/image-tags.ts):
 * without one the node pulls `latest`, and a moving tag is not a deployment anybody can repeat.
 */
export function imageReferenceProblem(image: string): string | undefined {
  const m = REFERENCE.exec(image);
  if (!m) return `not an image reference: expected [host[:port]/]path[:tag][@digest] with a lower-case path, as in "registry.example.com/team/${PROBE_REPOSITORY}:1.4.0"`;
  const [, name, tag, digest] = m;
  if (name!.length > NAME_TOTAL_LENGTH_MAX) return `the repository name is ${name!.length} characters long; registries take at most ${NAME_TOTAL_LENGTH_MAX}`;
  if (tag === undefined && digest === undefined) return `has no tag, so the nodes would pull "latest": add a version tag (${image}:1.4.0) or a digest (@sha256:…)`;
  if (tag === "latest" && digest === undefined) return `uses the "latest" tag, which moves: use a version tag or a digest (@sha256:…)`;
  return undefined;
}

/**
 * Why `registry` is not a place to push `<registry>/pooling-probe:<stack>` to, or undefined. Its first part
 * must read as a registry host, as splitDockerDomain (distribution/reference normalize.go) decides: it holds
 * a "." or a ":" or is `localhost`; anything else is taken for a Docker Hub user, and the push would go to
 * Docker Hub under that name.
 */
export function registryProblem(registry: string): string | undefined {
  const m = REGISTRY.exec(registry);
  const example = `registry.example.com/team, or docker.io/<user> for Docker Hub`;
  if (!m) return `not a registry: expected host[:port][/path] with a lower-case path, such as ${example}`;
  const host = m[1]!;
  if (host !== "localhost" && !/[.:]/.test(host)) return `"${host}" would be read as a Docker Hub user, not a registry host: name the host, such as ${example}`;
  if (registry.length + PROBE_REPOSITORY.length + 1 > NAME_TOTAL_LENGTH_MAX) return `${registry}/${PROBE_REPOSITORY} is longer than the ${NAME_TOTAL_LENGTH_MAX} characters registries take`;
  return undefined;
}

/** The registry host of `registry` (its part before the first "/"): what a push logs in to. */
export function registryServer(registry: string): string {
  return registry.split("/", 1)[0]!;
}

/**
 * A kubeconfig context name: what `kubectl config get-contexts` lists (kind-pooling, gke_project_zone_name,
 * arn:aws:eks:region:account:cluster/name, user@cluster). Spaces, quotes and shell characters are
 * refused, because the name goes into the kubectl command the stack outputs.
 */
export function contextProblem(context: string): string | undefined {
  if (context.length > 253 || !/^[A-Za-z0-9][A-Za-z0-9._:@/+-]*$/.test(context))
    return "expected a kubeconfig context name: letters, digits and . _ : @ / + -, starting with a letter or digit, at most 253 characters";
  return undefined;
}

export const clusterSchema = z.strictObject({
  type: choice(
    CLUSTER_TYPES,
    "kind",
    "Which cluster `pulumi up` deploys to: kind, the local kind cluster `npm run up` creates; existing, a cluster that is already running, reached through the kubeconfig context pooling:cluster.context. The local control plane (`npm run up -- --cluster local`) and `--render-to` take precedence over this section.",
  ),
  context: optionalText(
    "kubeconfig context",
    "The kubeconfig context the Kubernetes provider is pinned to, whatever kubectl's current context is. Required for an existing cluster.",
    "kind-pooling for kind (the kind cluster `npm run up` creates); none for existing, which must set it",
    contextProblem,
  ),
  probeRegistry: optionalText(
    "registry",
    `Where Docker pushes the probe image it builds from app-probe/: host[:port][/path]; the image is <probeRegistry>/${PROBE_REPOSITORY}:<stack>. The cluster's nodes must be able to pull from it; the push uses Docker's own credentials for the host (\`docker login\`).`,
    "localhost:5391 for kind, kind's local registry, which the program runs; none for existing, which must set it or probeImage",
    registryProblem,
  ),
  probeImage: optionalText(
    "image reference",
    "A prebuilt probe image, used as is (nothing is built or pushed): a reference with a version tag or a digest. Set this or probeRegistry, not both.",
    "unset: the probe image is built and pushed to probeRegistry",
    imageReferenceProblem,
  ),
});

/** How the probe's image reaches the cluster: used as is, or built and pushed (undefined: kind's local registry). */
export type ProbeImageSetting = { image: string } | { registry: string | undefined };

/** `pooling:cluster` once validated: an existing cluster always has its context and an image source of its own. */
export type ClusterSetting =
  | { type: "kind"; context: string | undefined; probe: ProbeImageSetting }
  | { type: "existing"; context: string; probe: { image: string } | { registry: string } };

/** The validated section as a ClusterSetting; clusterRules have refused everything this would have to guess. */
export function clusterSetting(c: z.output<typeof clusterSchema>): ClusterSetting {
  if (c.type === "kind") return { type: "kind", context: c.context, probe: c.probeImage !== undefined ? { image: c.probeImage } : { registry: c.probeRegistry } };
  if (c.context === undefined || (c.probeImage === undefined && c.probeRegistry === undefined)) throw new Error("pooling:cluster passed validation with an existing cluster and no context or image source");
  return { type: "existing", context: c.context, probe: c.probeImage !== undefined ? { image: c.probeImage } : { registry: c.probeRegistry! } };
}

export const clusterRules: Rule[] = [
  rule(["cluster.type", "cluster.context"], ({ cluster }) =>
    cluster.type === "existing" && cluster.context === undefined
      ? {
          key: key("cluster.context"),
          value: undefined,
          message: `${key("cluster.type")} is existing, which is reached through a kubeconfig context: set this to one \`kubectl config get-contexts\` lists.`,
        }
      : undefined,
  ),
  rule(["cluster.probeRegistry", "cluster.probeImage"], ({ cluster }) =>
    cluster.probeImage !== undefined && cluster.probeRegistry !== undefined
      ? {
          key: key("cluster.probeImage"),
          value: cluster.probeImage,
          message: `a prebuilt image is used as is, but ${key("cluster.probeRegistry")} (${cluster.probeRegistry}) asks for one to be built and pushed: remove one of the two.`,
        }
      : undefined,
  ),
  rule(["cluster.type", "cluster.probeRegistry", "cluster.probeImage"], ({ cluster }) =>
    cluster.type === "existing" && cluster.probeImage === undefined && cluster.probeRegistry === undefined
      ? {
          key: key("cluster.probeImage"),
          value: undefined,
          message: `an existing cluster cannot pull from kind's local registry: set this to a prebuilt probe image, or ${key("cluster.probeRegistry")} to a registry its nodes pull from.`,
        }
      : undefined,
  ),
];
