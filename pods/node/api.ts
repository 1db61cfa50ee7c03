/**
 * The node agent's view of the API server, through @kubernetes/client-node (v1.4: v2 needs a newer
 * Node.js than 20): typed clients, informers (list + watch, kept in a local cache) that restart after a
 * broken watch, and the conversion of API objects into the plain manifests the runner's code reads.
 */
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  ListWatch,
  NetworkingV1Api,
  Watch,
  type KubernetesListObject,
  type KubernetesObject,
} from "@kubernetes/client-node";
import type { ManifestOf } from "../k8s.ts";

export interface NodeApi {
  kc: KubeConfig;
  core: CoreV1Api;
  coordination: CoordinationV1Api;
  networking: NetworkingV1Api;
  discovery: DiscoveryV1Api;
}

export function nodeApi(kubeconfig: string): NodeApi {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return { kc, core: kc.makeApiClient(CoreV1Api), coordination: kc.makeApiClient(CoordinationV1Api), networking: kc.makeApiClient(NetworkingV1Api), discovery: kc.makeApiClient(DiscoveryV1Api) };
}

/** The HTTP status of a failed API call (ApiException), or undefined for anything else (a refused connection). */
export function statusOf(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

export interface Cache<T extends KubernetesObject> {
  informer: ListWatch<T>;
  /** Resolves after the first list: the cache holds every object from then on. */
  synced: Promise<void>;
}

/**
 * An informer on `path` that the agent keeps running: client-node's ListWatch stops on an error (a
 * restarted API server, a refused connection) and leaves the restart to its user; here it relists
 * after a second, for as long as `alive()` says so.
 */
export function informer<T extends KubernetesObject>(api: NodeApi, path: string, list: () => Promise<KubernetesListObject<T>>, alive: () => boolean, log: (line: string) => void, fieldSelector?: string): Cache<T> {
  const lw = new ListWatch<T>(path, new Watch(api.kc), list, false, undefined, fieldSelector);
  let restarts = 0;
  lw.on("error", (err: unknown) => {
    if (!alive()) return;
    if (restarts++ % 10 === 0) log(`watch ${path} broke (${(err as Error)?.message ?? String(err)}); relisting`);
    setTimeout(() => alive() && void lw.start().catch(() => undefined), 1_000);
  });
  const synced = (async () => {
    for (;;) {
      try {
        await lw.start();
        return;
      } catch (err) {
        if (!alive()) return;
        log(`list ${path} failed (${(err as Error).message}); retrying`);
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  })();
  return { informer: lw, synced };
}

/** The kinds the agent hands from the API to the runner's code, with their apiVersions. */
const API_VERSIONS = { ConfigMap: "v1", Secret: "v1", Service: "v1", NetworkPolicy: "networking.k8s.io/v1" } as const;

/**
 * An object from the API as the runner's code reads a manifest (pods/k8s.ts), with the fields it reads.
 * client-node and kubernetes-models type the same JSON (client-node widens the API's enums to string),
 * and the API server has validated the object, so it is taken as kubernetes-models' interface here, the
 * one place the two typings meet.
 */
export function asManifest<K extends keyof typeof API_VERSIONS>(
  kind: K,
  obj: { metadata?: { name?: string; namespace?: string; labels?: Record<string, string> }; spec?: object; data?: Record<string, string>; binaryData?: Record<string, string> } | undefined,
): ManifestOf<K> | undefined {
  if (!obj?.metadata?.name) return undefined;
  const { name, namespace, labels } = obj.metadata;
  const plain = {
    apiVersion: API_VERSIONS[kind],
    kind,
    metadata: { name, ...(namespace ? { namespace } : {}), ...(labels ? { labels } : {}) },
    ...(obj.spec ? { spec: obj.spec } : {}),
    ...(obj.data ? { data: obj.data } : {}),
    ...(obj.binaryData ? { binaryData: obj.binaryData } : {}),
  };
  return plain as unknown as ManifestOf<K>;
}

/** Every object of a list that converts (one without a name does not). */
export const asManifests = <K extends keyof typeof API_VERSIONS>(kind: K, list: ReadonlyArray<Parameters<typeof asManifest>[1]>): Array<ManifestOf<K>> =>
  list.flatMap((o) => asManifest(kind, o) ?? []);
