/**
 * The pod network: pure rule rendering everywhere, and real namespaces, veths, a bridge and nft tables
 * when run as root (CI runs it as root). Traffic goes only to addresses of namespaces these tests made
 * (every connect passes assertOwnAddress first). Nothing sleeps: tests wait for process output, socket
 * events or nft counters, each with a bounded deadline.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { waitUntil as waitUntilShared } from "../../lib/wait.ts";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ForeignAddressError, PodNetwork, UnknownPodError } from "../../pods/network.ts";
import type { INetworkPolicyIngressRule as NetworkPolicyIngressRule } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicyIngressRule";
import type { NetworkPolicy, Service } from "../../pods/k8s.ts";
import type { LabelSelector } from "../../pods/net-rules.ts";
import type { PodEndpoint } from "../../pods/network-api.ts";
import { freeSubnetIndex, renderHostsFile, rootNetfilterHazards } from "../../pods/net-host.ts";
import { renderPolicyTable } from "../../pods/net-policy.ts";
import { matchesSelector, renderPodRuleset } from "../../pods/net-rules.ts";
import { renderServiceTable } from "../../pods/net-services.ts";
import { STATE_DIR, statePath } from "../../pods/net-state.ts";

const IS_ROOT = process.getuid?.() === 0;
const NOT_ROOT_REASON = "needs root for network namespaces, veths and nft tables (CI runs this file as root)";
/** A namespace test: without root it fails with the reason instead of passing silently. */
function rootIt(name: string, fn: () => Promise<void> | void, timeoutMs?: number): void {
  it(
    name,
    async () => {
      if (!IS_ROOT) throw new Error(NOT_ROOT_REASON);
      await fn();
    },
    timeoutMs,
  );
}

const PROJECT = join(import.meta.dirname, "..", "..");
const DEADLINE_MS = 10_000;

// ---------------------------------------------------------------------------------------------------
// Pure rendering: runs everywhere.

function pod(name: string, host: number, labels: Record<string, string>, extra: Partial<PodEndpoint> = {}): PodEndpoint {
  return { name, namespace: "shop", labels, ports: [{ name: "http", containerPort: 8080 }], ip: `198.18.9.${host}`, netnsPath: "", netnsName: "", ready: true, terminating: false, ...extra };
}

const CIDRS = { pods: "198.18.9.0/24", services: "198.19.9.0/24" };
const webService = { namespace: "shop", name: "web", selector: { app: "web" }, ports: [{ port: 80, targetPort: "http" }], vip: "198.19.9.1" };

function ingressPolicy(name: string, podSelector: LabelSelector, ingress: NetworkPolicyIngressRule[]): NetworkPolicy {
  return { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name, namespace: "shop" }, spec: { podSelector, policyTypes: ["Ingress"], ingress } };
}

describe("pod network rules (pure)", () => {
  it("a Service with no ready endpoint gets no DNAT, and its address is refused with a TCP reset", () => {
    const { text } = renderServiceTable([webService], [pod("w1", 2, { app: "web" }, { ready: false })], CIDRS);
    expect(text).not.toContain("dnat");
    expect(text).toContain("ip daddr 198.19.9.0/24 meta l4proto tcp reject with tcp reset");
  });

  it("a Service spreads over its ready, non-terminating pods of its namespace with numgen, resolving named target ports", () => {
    const pods = [
      pod("w1", 4, { app: "web" }),
      pod("w2", 5, { app: "web" }, { ports: [{ name: "http", containerPort: 9090 }] }),
      pod("w3", 6, { app: "web" }, { terminating: true }),
      pod("w4", 7, { app: "web" }, { namespace: "other" }),
      pod("w5", 8, { app: "web" }, { ports: [] }),
      pod("w6", 9, { app: "api" }),
    ];
    const { text, chains } = renderServiceTable([webService], pods, CIDRS);
    expect(text).toContain("ip daddr . tcp dport vmap { 198.19.9.1 . 80 : goto svc_1_80 }");
    expect(text).toContain("numgen random mod 2 vmap { 0 : goto ep_1_80_0, 1 : goto ep_1_80_1 }");
    expect(text).toContain("dnat to 198.18.9.4:8080");
    expect(text).toContain("dnat to 198.18.9.5:9090");
    expect(chains).toEqual(["svc_1_80", "ep_1_80_0", "ep_1_80_1"]);
  });

  it("a pod's sends to anything but loopback, pods and ready Services are refused: nothing leaves the machine", () => {
    const { text } = renderServiceTable([], [], CIDRS);
    expect(text).toContain("ip daddr != { 127.0.0.0/8, 198.18.9.0/24 } meta l4proto tcp reject with tcp reset");
    expect(text.indexOf("ct state established,related accept")).toBeLessThan(text.indexOf("reject"));
  });

  it("a Service chain no longer rendered is deleted in the same transaction that flushes the table", () => {
    const script = renderPodRuleset({ text: "table ip plpod_svc {\n}", chains: [] }, "table inet plpod_pol {\n}", ["svc_1_80"]);
    expect(script.split("\n").slice(0, 3)).toEqual(["table ip plpod_svc", "flush table ip plpod_svc", "delete chain ip plpod_svc svc_1_80"]);
  });

  it("a pod no Ingress policy selects accepts everything", () => {
    const policy = { ...ingressPolicy("egress-only", {}, []), spec: { podSelector: {}, policyTypes: ["Egress" as const] } };
    expect(renderPolicyTable(pod("w1", 2, { app: "web" }), [policy], [])).not.toMatch(/ drop$/m);
  });

  it("a selected pod admits the from pods' addresses on the resolved named port and drops the rest, node included", () => {
    const a = pod("a", 2, { app: "web" });
    const c = pod("c", 5, { app: "client" });
    const other = pod("o", 6, { app: "client" }, { namespace: "other" });
    const policy = ingressPolicy("web-ingress", { matchLabels: { app: "web" } }, [{ from: [{ podSelector: { matchLabels: { app: "client" } } }], ports: [{ protocol: "TCP", port: "http" }] }]);
    const text = renderPolicyTable(a, [policy], [a, c, other]);
    expect(text).toContain("ct state established,related accept");
    expect(text).toContain('ip saddr { 198.18.9.5 } meta l4proto tcp th dport { 8080 } accept comment "web-ingress#0"');
    expect(text).toMatch(/counter name ingress_dropped drop\n/);
    expect(text.match(/ accept comment/g)).toHaveLength(1);
  });

  it("a rule without from admits any source on its ports", () => {
    const a = pod("a", 2, { app: "web" });
    const text = renderPolicyTable(a, [ingressPolicy("open", {}, [{ ports: [{ port: 9187 }] }])], [a]);
    expect(text).toMatch(/\n\s+meta l4proto tcp th dport \{ 9187 \} accept/);
  });

  it("label selectors follow matchLabels and matchExpressions; an empty selector selects everything", () => {
    const labels = { app: "web", tier: "front" };
    expect(matchesSelector({}, labels)).toBe(true);
    expect(matchesSelector({ matchLabels: { app: "web" }, matchExpressions: [{ key: "tier", operator: "In", values: ["front"] }] }, labels)).toBe(true);
    expect(matchesSelector({ matchExpressions: [{ key: "tier", operator: "NotIn", values: ["front"] }] }, labels)).toBe(false);
    expect(matchesSelector({ matchExpressions: [{ key: "gone", operator: "DoesNotExist" }] }, labels)).toBe(true);
    expect(matchesSelector({ matchExpressions: [{ key: "app", operator: "Bogus" }] }, labels)).toBe(false);
  });

  it("the subnet skips every /24 pair a route overlaps and ignores the default route", () => {
    expect(freeSubnetIndex([{ dst: "default" }, { dst: "198.18.0.0/24" }, { dst: "198.19.1.7" }, { dst: "10.0.0.0/8" }])).toBe(2);
    expect(freeSubnetIndex([{ dst: "198.18.0.0/15" }])).toBeUndefined();
  });

  it("a root forward chain with policy drop is reported when bridged traffic is passed to it", () => {
    const ruleset = { nftables: [{ chain: { family: "ip", table: "filter", name: "FORWARD", hook: "forward", policy: "drop" } }] };
    expect(rootNetfilterHazards(ruleset, true)).toEqual([expect.stringContaining("ip filter FORWARD (hook forward, policy drop, 0 rules) sees pod-to-pod traffic")]);
    expect(rootNetfilterHazards(ruleset, false)).toEqual([]);
    expect(rootNetfilterHazards({ nftables: [] }, true)).toEqual([]);
  });

  it("the hosts file has the bare Service name only for the pod's own namespace", () => {
    const text = renderHostsFile({ name: "a", namespace: "shop", ip: "198.18.9.2" }, [webService, { ...webService, namespace: "other", vip: "198.19.9.2" }]);
    expect(text).toContain("198.19.9.1\tweb web.shop web.shop.svc web.shop.svc.cluster.local\n");
    expect(text).toContain("198.19.9.2\tweb.other web.other.svc web.other.svc.cluster.local\n");
  });
});

// ---------------------------------------------------------------------------------------------------
// Real namespaces (root).

/** Greets with its pod name, then echoes: `echo:<line>`. */
const SERVER = `
const [port, name] = process.argv.slice(1);
require("node:net").createServer((s) => {
  s.on("error", () => {});
  s.write(name + "\\n");
  s.on("data", (d) => s.write("echo:" + d));
}).listen(Number(port), "0.0.0.0", () => console.log("listening"));
`;

/** Connects, prints the first line it gets or the error code, as JSON; stdin lines go to the socket. */
const CLIENT = `
const [host, port] = process.argv.slice(1);
const s = require("node:net").connect({ host, port: Number(port) });
const out = (o) => console.log(JSON.stringify(o));
s.on("connect", () => out({ connected: s.remoteAddress }));
s.on("data", (d) => String(d).split("\\n").filter(Boolean).forEach((line) => out({ line })));
s.on("error", (e) => { out({ error: e.code }); process.exit(0); });
s.on("close", () => process.exit(0));
process.stdin.on("data", (d) => s.write(d));
process.stdin.on("end", () => s.end());
`;

interface Lines {
  child: ChildProcessWithoutNullStreams;
  /** Resolves with the first line (past or future) that satisfies `match`; rejects at the deadline or exit. */
  wait(match: (line: string) => boolean, what: string): Promise<string>;
  all: string[];
}

function watchLines(child: ChildProcessWithoutNullStreams): Lines {
  const all: string[] = [];
  const waiters = new Set<() => void>();
  let exited = false;
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: child.stdout }).on("line", (l) => {
    all.push(l);
    waiters.forEach((w) => w());
  });
  child.on("close", () => {
    exited = true;
    waiters.forEach((w) => w());
  });
  return {
    child,
    all,
    wait: (match, what) =>
      new Promise<string>((resolve, reject) => {
        const check = () => {
          const hit = all.find(match);
          if (hit !== undefined) done(() => resolve(hit));
          else if (exited) done(() => reject(new Error(`process exited before ${what}; output: ${all.join(" | ")} ${stderr}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`no ${what} within ${DEADLINE_MS} ms; output: ${all.join(" | ")} ${stderr}`))), DEADLINE_MS);
        const done = (f: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          f();
        };
        waiters.add(check);
        check();
      }),
  };
}

const children = new Set<ChildProcessWithoutNullStreams>();

/** Runs `node -e script` in the pod's netns; with `hosts`, that file is the process's /etc/hosts (private mount ns). */
function nodeInPod(p: PodEndpoint, script: string, args: string[], hosts?: string): Lines {
  const node = [process.execPath, "-e", script, ...args];
  const argv = hosts
    ? ["unshare", "--mount", "--propagation", "private", "sh", "-c", 'mount --bind "$1" /etc/hosts && shift && exec "$@"', "sh", hosts, ...node]
    : node;
  const child = spawn("nsenter", [`--net=${p.netnsPath}`, ...argv], { stdio: ["pipe", "pipe", "pipe"] });
  children.add(child);
  child.on("close", () => children.delete(child));
  return watchLines(child);
}

/** The network's own state, polled on a short interval up to DEADLINE_MS (lib/wait.ts). */
const waitUntil = (what: string, check: () => Promise<boolean>): Promise<void> => waitUntilShared(what, check, DEADLINE_MS, 5);

const parse = (line: string) => JSON.parse(line) as { connected?: string; line?: string; error?: string };

describe("PodNetwork in Linux namespaces", () => {
  let net: PodNetwork;
  let a: PodEndpoint;
  let b: PodEndpoint;
  let c: PodEndpoint;
  let server: Lines;
  let scratch: string;
  const logs: string[] = [];
  const SERVICE: Service = { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "shop" }, spec: { type: "ClusterIP", selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }] } };
  const ONLY_C = ingressPolicy("web-from-c", { matchLabels: { app: "web" } }, [{ from: [{ podSelector: { matchLabels: { app: "client-c" } } }], ports: [{ protocol: "TCP", port: "http" }] }]);
  const ANY_SOURCE = ingressPolicy("web-probes", { matchLabels: { app: "web" } }, [{ ports: [{ protocol: "TCP", port: 8080 }] }]);

  /** A client in `from` connecting to host:port; the address must be one of this network's. */
  function client(from: PodEndpoint, host: string, port: number, hosts?: string): Lines {
    if (!/[a-z]/.test(host)) net.assertOwnAddress(host);
    return nodeInPod(from, CLIENT, [host, String(port)], hosts);
  }

  function hostsOf(p: PodEndpoint): string {
    const file = join(scratch, `${p.name}.hosts`);
    writeFileSync(file, net.hostsFile(p.name));
    return file;
  }

  /** Starts a connection and waits until A's policy drop counter moves: the SYN reached A and was dropped. */
  async function expectDroppedAtA(start: () => { stop: () => void; connected: () => boolean }): Promise<void> {
    const before = await net.droppedIngress(a.name);
    const attempt = start();
    try {
      await waitUntil("a drop counted by pod A's policy filter", async () => (await net.droppedIngress(a.name)) > before);
      expect(attempt.connected()).toBe(false);
    } finally {
      attempt.stop();
    }
  }

  function fromPod(p: PodEndpoint) {
    return () => {
      const l = client(p, a.ip, 8080);
      return { stop: () => l.child.kill("SIGKILL"), connected: () => l.all.some((x) => parse(x).connected !== undefined) };
    };
  }

  function fromNode() {
    net.assertOwnAddress(a.ip);
    const s: Socket = connect({ host: a.ip, port: 8080 });
    let ok = false;
    s.on("connect", () => (ok = true));
    s.on("error", () => undefined);
    return { stop: () => s.destroy(), connected: () => ok };
  }

  function nodeConnects(): Promise<string> {
    net.assertOwnAddress(a.ip);
    return new Promise((resolve, reject) => {
      const s = connect({ host: a.ip, port: 8080 });
      s.setTimeout(DEADLINE_MS, () => s.destroy(new Error("node → pod A timed out")));
      s.once("data", (d) => {
        s.destroy();
        resolve(String(d).trim());
      });
      s.on("error", reject);
    });
  }

  beforeAll(async () => {
    if (!IS_ROOT) return;
    scratch = mkdtempSync(join(tmpdir(), "pod-net-test-"));
    net = await PodNetwork.create({ log: (m) => logs.push(m) });
    a = await net.addPod({ name: "web-0", namespace: "shop", labels: { app: "web" }, ports: [{ name: "http", containerPort: 8080 }] });
    b = await net.addPod({ name: "client-b", namespace: "shop", labels: { app: "client-b" }, ports: [] });
    c = await net.addPod({ name: "client-c", namespace: "shop", labels: { app: "client-c" }, ports: [] });
    await net.setServices([SERVICE]);
    server = nodeInPod(a, SERVER, ["8080", a.name]);
    await server.wait((l) => l === "listening", "server listening in pod A");
    await net.setPodState(a.name, { ready: true, terminating: false });
  });

  afterAll(async () => {
    if (!IS_ROOT) return;
    for (const child of children) child.kill("SIGKILL");
    try {
      await net?.destroy();
    } finally {
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    }
  });

  rootIt("gives every pod its own address on the bridge and a default route via the node address", () => {
    expect(new Set([a.ip, b.ip, c.ip]).size).toBe(3);
    const routes = JSON.parse(execFileSync("ip", ["-n", b.netnsName, "-j", "route"], { encoding: "utf8" })) as Array<{ dst: string; gateway?: string }>;
    expect(routes).toContainEqual(expect.objectContaining({ dst: "default", gateway: net.nodeIp }));
  });

  rootIt("a client in pod B reaches pod A's server through the Service name", async () => {
    const l = client(b, "web.shop.svc.cluster.local", 80, hostsOf(b));
    const first = parse(await l.wait((x) => parse(x).line !== undefined || parse(x).error !== undefined, "a greeting"));
    expect(first).toEqual({ line: "web-0" });
    expect(l.all.map(parse)).toContainEqual({ connected: net.serviceIp("shop", "web") });
    l.child.stdin.end();
  });

  rootIt("the Service address refuses new connections at once while pod A is not ready", async () => {
    await net.setPodState(a.name, { ready: false, terminating: false });
    try {
      const l = client(b, net.serviceIp("shop", "web") as string, 80);
      expect(parse(await l.wait((x) => parse(x).error !== undefined || parse(x).line !== undefined, "a refusal"))).toEqual({ error: "ECONNREFUSED" });
    } finally {
      await net.setPodState(a.name, { ready: true, terminating: false });
    }
  });

  rootIt("a connection made through the Service keeps working after its endpoint stops being ready", async () => {
    const vip = net.serviceIp("shop", "web") as string;
    const held = client(b, vip, 80);
    await held.wait((x) => parse(x).line === "web-0", "the greeting");
    await net.setPodState(a.name, { ready: false, terminating: true });
    try {
      const fresh = client(b, vip, 80);
      expect(parse(await fresh.wait((x) => parse(x).error !== undefined || parse(x).line !== undefined, "a refusal"))).toEqual({ error: "ECONNREFUSED" });
      held.child.stdin.write("still there\n");
      await held.wait((x) => parse(x).line === "echo:still there", "the echo over the held connection");
    } finally {
      held.child.stdin.end();
      await net.setPodState(a.name, { ready: true, terminating: false });
    }
  });

  rootIt("a NetworkPolicy that admits only pod C drops pod B's connections to pod A and lets pod C's through", async () => {
    await net.setPolicies([ONLY_C]);
    await expectDroppedAtA(fromPod(b));
    const l = client(c, a.ip, 8080);
    expect(parse(await l.wait((x) => parse(x).line !== undefined || parse(x).error !== undefined, "a greeting"))).toEqual({ line: "web-0" });
    l.child.stdin.end();
  });

  rootIt("that policy drops the node's connections to pod A too: the node address is not exempted", async () => {
    await net.setPolicies([ONLY_C]);
    await expectDroppedAtA(fromNode);
  });

  rootIt("an ingress rule without from lets the node reach pod A's address", async () => {
    await net.setPolicies([ONLY_C, ANY_SOURCE]);
    try {
      expect(await nodeConnects()).toBe("web-0");
    } finally {
      await net.setPolicies([ONLY_C]);
    }
  });

  rootIt("a pod added while a policy admits its labels can connect as soon as addPod returns", async () => {
    await net.setPolicies([ONLY_C]);
    const d = await net.addPod({ name: "client-d", namespace: "shop", labels: { app: "client-c" }, ports: [] });
    try {
      const l = client(d, a.ip, 8080);
      expect(parse(await l.wait((x) => parse(x).line !== undefined || parse(x).error !== undefined, "a greeting"))).toEqual({ line: "web-0" });
      l.child.stdin.end();
    } finally {
      await net.removePod(d.name);
    }
  });

  rootIt("hostsFile lists localhost, the pod's own name and every form of the Service name", () => {
    expect(net.hostsFile(b.name)).toBe(
      `127.0.0.1\tlocalhost\n::1\tlocalhost\n${b.ip}\tclient-b\n${net.serviceIp("shop", "web")}\tweb web.shop web.shop.svc web.shop.svc.cluster.local\n`,
    );
    expect(() => net.hostsFile("nobody")).toThrow(UnknownPodError);
  });

  rootIt("assertOwnAddress accepts this network's pod, Service and node addresses and rejects any other", () => {
    for (const ip of [a.ip, c.ip, net.nodeIp, net.serviceIp("shop", "web") as string]) expect(() => net.assertOwnAddress(ip)).not.toThrow();
    for (const ip of ["127.0.0.1", "192.0.2.1", "198.18.255.2"]) {
      expect(() => net.assertOwnAddress(ip)).toThrow(expect.objectContaining({ code: "POOLING_POD_NET_FOREIGN_ADDRESS" }));
      expect(() => net.assertOwnAddress(ip)).toThrow(ForeignAddressError);
    }
  });
});

function links(): string[] {
  return (JSON.parse(execFileSync("ip", ["-j", "link"], { encoding: "utf8" })) as Array<{ ifname: string }>).map((l) => l.ifname);
}

function namespaces(): string[] {
  return execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .map((l) => l.split(" ")[0] as string)
    .filter(Boolean);
}

describe("PodNetwork lifecycle", () => {
  const made: PodNetwork[] = [];
  const killed: ChildProcessWithoutNullStreams[] = [];

  afterAll(async () => {
    if (!IS_ROOT) return;
    for (const child of killed) child.kill("SIGKILL");
    await Promise.allSettled(made.map((n) => n.destroy()));
    await PodNetwork.sweepStale();
  });

  rootIt("destroy removes every namespace, veth, the bridge and the state file, and can be called twice", async () => {
    const net = await PodNetwork.create({});
    made.push(net);
    const p = await net.addPod({ name: "one", namespace: "shop", labels: {}, ports: [] });
    await net.addPod({ name: "two", namespace: "shop", labels: {}, ports: [] });
    expect(namespaces()).toContain(p.netnsName);
    await net.destroy();
    await net.destroy();
    expect(namespaces().filter((n) => n.startsWith(`plpod-${net.runId}-`))).toEqual([]);
    expect(links().filter((l) => l.startsWith(net.bridge))).toEqual([]);
    expect(existsSync(statePath(net.runId))).toBe(false);
    expect(execFileSync("nft", ["list", "tables"], { encoding: "utf8" })).not.toContain("plpod");
    await expect(net.addPod({ name: "three", namespace: "shop", labels: {}, ports: [] })).rejects.toMatchObject({ code: "POOLING_POD_NET_DESTROYED" });
  });

  rootIt("sweepStale removes what a run whose process was killed left behind, and leaves live runs alone", async () => {
    const live = await PodNetwork.create({});
    made.push(live);
    const script = `
      import { PodNetwork } from "./pods/network.ts";
      const net = await PodNetwork.create({});
      const p = await net.addPod({ name: "orphan", namespace: "shop", labels: {}, ports: [] });
      console.log(JSON.stringify({ runId: net.runId, bridge: net.bridge, netns: p.netnsName }));
      setInterval(() => {}, 60_000);
    `;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: PROJECT, stdio: ["pipe", "pipe", "pipe"] });
    killed.push(child);
    const out = watchLines(child);
    const orphan = JSON.parse(await out.wait((l) => l.startsWith("{"), "the orphan run's names")) as { runId: string; bridge: string; netns: string };
    expect(namespaces()).toContain(orphan.netns);
    const gone = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL"); // no 'exit' handler runs: the run's objects stay behind
    await gone;
    expect(links()).toContain(orphan.bridge);

    const swept = await PodNetwork.sweepStale();
    expect(swept).toContain(orphan.runId);
    expect(swept).not.toContain(live.runId);
    expect(namespaces()).not.toContain(orphan.netns);
    expect(links().filter((l) => l.startsWith(orphan.bridge))).toEqual([]);
    expect(existsSync(join(STATE_DIR, `${orphan.runId}.json`))).toBe(false);
    expect(links()).toContain(live.bridge);
  });
});
