/**
 * The command lines of the control plane's processes, as pure functions of the layout, the PKI and the
 * ports (so a test reads them without starting anything). Everything binds to 127.0.0.1: the servers
 * never listen on another interface, and every URL they are given points back to loopback.
 */
import type { ClusterLayout, ClusterPorts } from "./layout.ts";
import type { ClusterPki } from "./pki.ts";

/**
 * The cluster's Service range: a /24 inside kubeadm's 10.96.0.0/12, so the addresses look like a cluster's,
 * one of its 4,096 picked by the API server's port. Two clusters run at once (the tests start several)
 * have two ports, and so, but for one chance in 4,096, two ranges: the node agent routes its range onto
 * its pod bridge, and a second node with the same range stops at once with the clash named
 * (pods/net-bridge.ts), rather than both programming the same virtual IPs. A data folder keeps the range
 * its first `up` chose (cluster/service-range.ts): the API server's Service objects hold addresses from it.
 */
export function serviceRangeForPort(apiserverPort: number): string {
  const k = apiserverPort % 4096;
  return `10.${96 + (k >> 8)}.${k & 255}.0/24`;
}

/**
 * kube-controller-manager's controllers, by their canonical names (`<name>-controller`, the names since
 * 1.28; the short names are kept as aliases, cmd/kube-controller-manager/app/controller_descriptor.go).
 * The ones a Deployment, StatefulSet, Service and namespace need, their garbage collection, service
 * accounts and their tokens, node health, and the root CA ConfigMap pods mount. Not the cloud, CSR,
 * node-IPAM or bootstrap-token ones: nothing here uses them.
 */
export const CONTROLLERS = [
  "deployment-controller",
  "replicaset-controller",
  "statefulset-controller",
  "daemonset-controller",
  "job-controller",
  "cronjob-controller",
  "replicationcontroller-controller",
  "disruption-controller",
  "endpoints-controller",
  "endpointslice-controller",
  "endpointslice-mirroring-controller",
  "serviceaccount-token-controller",
  "serviceaccount-controller",
  "root-ca-certificate-publisher-controller",
  "namespace-controller",
  "garbage-collector-controller",
  "pod-garbage-collector-controller",
  "ttl-after-finished-controller",
  "resourcequota-controller",
  "node-lifecycle-controller",
  "taint-eviction-controller",
  "persistentvolume-binder-controller",
  "persistentvolumeclaim-protection-controller",
  "persistentvolume-protection-controller",
  "ephemeral-volume-controller",
  "clusterrole-aggregation-controller",
] as const;

const loopback = (port: number, scheme = "http") => `${scheme}://127.0.0.1:${port}`;

/** etcd as a one-member cluster, client and peer URLs on loopback (envtest: controlplane/etcd.go). */
export function etcdArgs(l: ClusterLayout, p: ClusterPorts): string[] {
  const peer = loopback(p.etcdPeer);
  return [
    "--name=pooling",
    `--data-dir=${l.etcdDir}`,
    `--listen-client-urls=${loopback(p.etcdClient)}`,
    `--advertise-client-urls=${loopback(p.etcdClient)}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=pooling=${peer}`,
    "--initial-cluster-token=pooling-cluster",
    // Read only when the data folder is empty; an existing member keeps its own state.
    "--initial-cluster-state=new",
  ];
}

/** The API server's issuer and the URL clients use: the secure port on loopback, as envtest does. */
export const apiserverUrl = (p: ClusterPorts) => loopback(p.apiserver, "https");

export function apiserverArgs(l: ClusterLayout, pki: ClusterPki, p: ClusterPorts, serviceRange: string): string[] {
  return [
    "--bind-address=127.0.0.1",
    "--advertise-address=127.0.0.1",
    `--secure-port=${p.apiserver}`,
    `--etcd-servers=${loopback(p.etcdClient)}`,
    `--tls-cert-file=${pki.serving.cert}`,
    `--tls-private-key-file=${pki.serving.key}`,
    `--client-ca-file=${pki.ca.cert}`,
    `--service-account-key-file=${pki.serviceAccountPub}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
    `--service-account-issuer=${apiserverUrl(p)}`,
    // Node: what a kubelet's own certificate (system:node:<name>) may touch; RBAC for everyone else.
    "--authorization-mode=RBAC,Node",
    // --enable-admission-plugins adds to the default-on set. PodSecurity is in that set already
    // (k8s.io/kubernetes v1.37.2, the release the toolchain builds: pkg/kubeapiserver/options/plugins.go,
    // defaultOnPlugins in DefaultOffAdmissionPlugins); it is named here so it stays on whatever a later
    // release defaults to. NodeRestriction goes with the Node authorizer: a node may only edit itself.
    "--enable-admission-plugins=NodeRestriction,PodSecurity",
    `--service-cluster-ip-range=${serviceRange}`,
    // As kind (kubeadm) runs it: whether a privileged pod may run is PodSecurity's call, per namespace.
    "--allow-privileged=true",
    // With the default lease reconciler the API server refuses to start on a loopback advertise address:
    // "cannot use public IP 127.0.0.1 with endpoint reconciler ... may not be in the loopback range"
    // (v1.37.2 pkg/controlplane/instance.go, through ValidateEndpointIP; seen here without this flag).
    // Only the `kubernetes` Service's endpoints go unmanaged; the node agent programs the other Services.
    "--endpoint-reconciler-type=none",
    "--profiling=false",
  ];
}

/** Flags every component that serves HTTPS and calls the API server shares. */
function componentArgs(kubeconfig: string, pki: ClusterPki, port: number): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    // Delegated authn/authz of the component's own /metrics and debug endpoints, through the API server.
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    "--bind-address=127.0.0.1",
    `--secure-port=${port}`,
    `--tls-cert-file=${pki.serving.cert}`,
    `--tls-private-key-file=${pki.serving.key}`,
    `--client-ca-file=${pki.ca.cert}`,
    // Client certificates are checked against --client-ca-file; the in-cluster lookup would only add the
    // front proxy's request-header CA, which this API server does not have, and the components would
    // log "missing content for CA bundle" for it every few seconds (seen here; the lookup is in
    // k8s.io/apiserver v0.37.2 pkg/server/options/authentication.go, DelegatingAuthenticationOptions.ApplyTo).
    "--authentication-skip-lookup=true",
    // One instance per cluster: electing a leader only adds a lease wait after an unclean stop.
    "--leader-elect=false",
  ];
}

export function controllerManagerArgs(l: ClusterLayout, pki: ClusterPki, p: ClusterPorts, serviceRange: string): string[] {
  return [
    ...componentArgs(l.controllerManagerKubeconfig, pki, p.controllerManager),
    `--controllers=${CONTROLLERS.join(",")}`,
    // Each controller acts as its own service account, so RBAC sees which one did what.
    "--use-service-account-credentials=true",
    `--service-account-private-key-file=${pki.serviceAccountKey}`,
    `--root-ca-file=${pki.ca.cert}`,
    `--service-cluster-ip-range=${serviceRange}`,
    "--profiling=false",
  ];
}

export function schedulerArgs(l: ClusterLayout, pki: ClusterPki, p: ClusterPorts): string[] {
  return componentArgs(l.schedulerKubeconfig, pki, p.scheduler);
}
