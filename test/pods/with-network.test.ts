/**
 * The process side with the real pod network (pods/network.ts): a Service in front of a Deployment whose
 * readiness decides the endpoints, its name in /etc/hosts, its link variables in the environment, a
 * NetworkPolicy applied, and everything removed on stop.
 */
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster } from "../../pods/cluster.ts";
import { PodNetwork } from "../../pods/network.ts";
import { requireRoot, removeTempDirs, tempDir, testStandIns, until, waitEvent, workload, writeManifests } from "./helpers.ts";

const SERVE = ["python3", "-m", "http.server", "--bind", "0.0.0.0", "8080"];
const WAIT = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done"];

describe("the process side with the real pod network", () => {
  beforeAll(requireRoot);
  let cluster: Cluster | undefined;
  afterAll(async () => {
    await cluster?.stop();
    removeTempDirs();
  });

  it("routes a Service to the ready pods only, gives its name and link variables, and removes every namespace on stop", async () => {
    const dir = tempDir("net");
    const network = await PodNetwork.create({});
    const service = { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "t" }, spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] } };
    const policy = {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "web-from-client", namespace: "t" },
      spec: { podSelector: { matchLabels: { app: "web" } }, policyTypes: ["Ingress"], ingress: [{ from: [{ podSelector: { matchLabels: { app: "client" } } }], ports: [{ port: 8080 }] }] },
    };
    const web = workload("Deployment", "web", {
      // python's http.server has no TERM handler: as PID 1 it ignores TERM and is SIGKILLed at the grace.
      terminationGracePeriodSeconds: 1,
      containers: [{ name: "c", image: "busybox:1.36", command: SERVE, workingDir: "/tmp", ports: [{ name: "http", containerPort: 8080 }], readinessProbe: { exec: { command: ["test", "-f", "/tmp/ready"] }, periodSeconds: 1, failureThreshold: 1 } }],
    });
    cluster = await Cluster.start({
      manifestsDir: writeManifests(`${dir}/k8s`, [service, policy, web, workload("Deployment", "client", { containers: [{ name: "c", image: "busybox:1.36", command: WAIT }] })]),
      runDir: `${dir}/run`,
      network,
      standIns: testStandIns(),
      handleSignals: false,
    });
    const pods = await until(cluster, "both pods running", 20_000, () => {
      const p = cluster!.pods();
      return p.length === 2 && p.every((x) => x.containers[0]!.running) ? p : undefined;
    });
    const client = pods.find((p) => p.workload === "client")!.name;
    const webPod = pods.find((p) => p.workload === "web")!.name;
    const curl = () => cluster!.exec(client, "c", ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "15", "http://web/"], { timeoutMs: 30_000 });
    // Not ready: no endpoint, so the Service refuses.
    expect((await curl()).stdout).not.toBe("200");
    await cluster.exec(webPod, "c", ["touch", "/tmp/ready"]);
    await cluster.waitReady(15_000);
    expect((await curl()).stdout).toBe("200");
    const env = (await cluster.exec(client, "c", ["sh", "-c", "echo $WEB_SERVICE_HOST $WEB_PORT"])).stdout.trim();
    expect(env).toMatch(/^(\d+\.){3}\d+ tcp:\/\/(\d+\.){3}\d+:80$/);
    // The policy admits the client pod on the container port.
    const webIp = cluster.pods().find((p) => p.name === webPod)!.ip;
    expect((await cluster.exec(client, "c", ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "15", `http://${webIp}:8080/`], { timeoutMs: 30_000 })).stdout).toBe("200");
    const replaced = waitEvent(cluster, (e) => e.reason === "Scheduled", 10_000, "the replacement web pod");
    await cluster.deletePod(webPod);
    await replaced;
    await cluster.stop();
    expect(cluster.history().every((p) => p.phase === "Terminated")).toBe(true);
    expect(execFileSync("ip", ["netns", "list"], { encoding: "utf8" })).not.toContain(`-${network.runId}-`);
  });
});
