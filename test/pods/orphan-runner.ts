/**
 * A runner for test/pods/orphans.test.ts to kill: starts a cluster of two pods, prints their containers'
 * PID 1s, network namespaces and run folder as one JSON line, then waits. With `--signals` the cluster
 * handles SIGINT/SIGTERM itself, as `npm run pods` does.
 */
import { Cluster } from "../../pods/cluster.ts";
import { TestNetwork } from "./fake-network.ts";
import { tempDir, testStandIns, workload, writeManifests } from "./helpers.ts";
import { join } from "node:path";

const dir = tempDir("orphans");
const network = new TestNetwork();
const cluster = await Cluster.start({
  manifestsDir: writeManifests(join(dir, "k8s"), [
    workload("Deployment", "orphan", { containers: [{ name: "c", image: "busybox:1.36", command: ["sh", "-c", "sleep 1000 & while :; do sleep 1; done"], volumeMounts: [{ name: "m", mountPath: "/m" }] }], volumes: [{ name: "m", emptyDir: { medium: "Memory" } }] }, { replicas: 2 }),
  ]),
  runDir: join(dir, "run"),
  network,
  standIns: testStandIns(),
  handleSignals: process.argv.includes("--signals"),
});
await cluster.waitReady(20_000);
const pids = cluster.pods().flatMap((p) => p.containers.map((c) => c.pid));
process.stdout.write(`${JSON.stringify({ pids, netns: [...network.pods.values()].map((p) => p.netnsName), runDir: join(dir, "run") })}\n`);
setInterval(() => undefined, 60_000);
