/** The control plane's command lines: loopback only, and the flags the task and envtest call for. */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { apiserverArgs, controllerManagerArgs, CONTROLLERS, etcdArgs, schedulerArgs, serviceRangeForPort } from "../../cluster/flags.ts";
import { clusterLayout, clusterPorts, DEFAULT_PORTS, type ClusterPorts } from "../../cluster/layout.ts";
import { pkiFiles } from "../../cluster/pki.ts";
import { ensureServiceRange } from "../../cluster/service-range.ts";

const layout = clusterLayout("/data/cluster");
const pki = pkiFiles(layout.pkiDir);
const ports: ClusterPorts = { apiserver: 20001, etcdClient: 20002, etcdPeer: 20003, controllerManager: 20004, scheduler: 20005 };
const RANGE = serviceRangeForPort(ports.apiserver);
const flags = (args: string[]) => new Map(args.map((a) => a.replace(/^--/, "").split(/=(.*)/s).slice(0, 2) as [string, string]));
const all = [etcdArgs(layout, ports), apiserverArgs(layout, pki, ports, RANGE), controllerManagerArgs(layout, pki, ports, RANGE), schedulerArgs(layout, pki, ports)];

describe("the control plane's flags", () => {
  it("points every URL and bind address at 127.0.0.1", () => {
    for (const args of all) {
      for (const value of flags(args).values()) {
        for (const host of value.matchAll(/(?:https?:\/\/)([^/:,]+)/g)) expect(host[1]).toBe("127.0.0.1");
      }
      const bind = flags(args).get("bind-address");
      if (bind !== undefined) expect(bind).toBe("127.0.0.1");
    }
  });

  it("runs etcd as one member with client and peer URLs on the given ports", () => {
    const f = flags(etcdArgs(layout, ports));
    expect(f.get("listen-client-urls")).toBe("http://127.0.0.1:20002");
    expect(f.get("listen-peer-urls")).toBe("http://127.0.0.1:20003");
    expect(f.get("initial-cluster")).toBe("pooling=http://127.0.0.1:20003");
    expect(f.get("data-dir")).toBe("/data/cluster/etcd");
  });

  it("gives the API server its certificates, service-account keys, RBAC and Node authorization and PodSecurity", () => {
    const f = flags(apiserverArgs(layout, pki, ports, RANGE));
    expect(f.get("secure-port")).toBe("20001");
    expect(f.get("etcd-servers")).toBe("http://127.0.0.1:20002");
    expect(f.get("client-ca-file")).toBe(pki.ca.cert);
    expect(f.get("tls-cert-file")).toBe(pki.serving.cert);
    expect(f.get("service-account-key-file")).toBe(pki.serviceAccountPub);
    expect(f.get("service-account-signing-key-file")).toBe(pki.serviceAccountKey);
    expect(f.get("service-account-issuer")).toBe("https://127.0.0.1:20001");
    expect(f.get("authorization-mode")).toBe("RBAC,Node");
    expect(f.get("enable-admission-plugins")?.split(",")).toContain("PodSecurity");
    expect(f.has("disable-admission-plugins")).toBe(false);
    expect(f.get("service-cluster-ip-range")).toBe(RANGE);
    expect(flags(controllerManagerArgs(layout, pki, ports, RANGE)).get("service-cluster-ip-range")).toBe(RANGE);
  });

  it("picks the Service range from the API server's port: one of the 4,096 /24s of 10.96.0.0/12, another for another port", () => {
    expect(serviceRangeForPort(16443)).toBe("10.96.59.0/24");
    expect(serviceRangeForPort(20001)).toBe("10.110.33.0/24");
    expect(serviceRangeForPort(4095)).toBe("10.111.255.0/24");
    expect(serviceRangeForPort(4096)).toBe("10.96.0.0/24");
    const ranges = new Set(Array.from({ length: 4096 }, (_, i) => serviceRangeForPort(30000 + i)));
    expect(ranges.size).toBe(4096);
  });

  it("keeps the range a data folder's first `up` chose, whatever the ports later", () => {
    const dir = mkdtempSync(join(tmpdir(), "pooling-range-"));
    try {
      const l = clusterLayout(dir);
      expect(ensureServiceRange(l, ports)).toBe(RANGE);
      expect(ensureServiceRange(l, { ...ports, apiserver: 16443 })).toBe(RANGE);
      expect(readFileSync(l.serviceRangeFile, "utf8").trim()).toBe(RANGE);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("runs the controllers the workloads need, each under its own service account", () => {
    const f = flags(controllerManagerArgs(layout, pki, ports, RANGE));
    const names = f.get("controllers")!.split(",");
    for (const short of ["deployment", "replicaset", "statefulset", "endpoints", "endpointslice", "serviceaccount-token", "serviceaccount", "namespace", "garbage-collector", "node-lifecycle"]) {
      expect(names).toContain(`${short}-controller`);
    }
    expect(names).toEqual([...CONTROLLERS]);
    expect(f.get("use-service-account-credentials")).toBe("true");
    expect(f.get("service-account-private-key-file")).toBe(pki.serviceAccountKey);
    expect(f.get("root-ca-file")).toBe(pki.ca.cert);
    expect(f.get("kubeconfig")).toBe(layout.controllerManagerKubeconfig);
    expect(f.get("secure-port")).toBe("20004");
  });

  it("gives the scheduler its own kubeconfig and port", () => {
    const f = flags(schedulerArgs(layout, pki, ports));
    expect(f.get("kubeconfig")).toBe(layout.schedulerKubeconfig);
    expect(f.get("secure-port")).toBe("20005");
  });
});

describe("the cluster's ports", () => {
  it("are the fixed defaults unless POOLING_CLUSTER_*_PORT says otherwise", () => {
    expect(clusterPorts({})).toEqual(DEFAULT_PORTS);
    expect(clusterPorts({ POOLING_CLUSTER_APISERVER_PORT: "26443" }).apiserver).toBe(26443);
  });

  it("refuses a value that is not a port, naming the variable", () => {
    expect(() => clusterPorts({ POOLING_CLUSTER_ETCD_PORT: "70000" })).toThrow(expect.objectContaining({ code: "POOLING_CLUSTER_PORT", message: expect.stringContaining("POOLING_CLUSTER_ETCD_PORT=70000 is not a port") }));
  });

  it("refuses two components on one port", () => {
    expect(() => clusterPorts({ POOLING_CLUSTER_ETCD_PORT: "16443" })).toThrow(/POOLING_CLUSTER_ETCD_PORT and POOLING_CLUSTER_APISERVER_PORT are both 16443/);
  });
});
