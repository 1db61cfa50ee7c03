/**
 * `node --import tsx pods/node/main.ts --kubeconfig FILE --run-dir DIR --service-cidr CIDR [--node-name NAME]`: the node
 * agent as a process, started by the cluster daemon (cluster/control-plane.ts) after the API server and
 * stopped before it. SIGTERM stops it as a node is drained by its kubelet going away: every pod killed
 * within its grace, the network removed; the API objects stay for the next start to take over.
 */
import { KubeConfig, VersionApi } from "@kubernetes/client-node";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isMain, parseCommandLine, runCli } from "../../lib/cli.ts";
import { NodeAgent } from "./agent.ts";
import { NodeAgentUsageError } from "./errors.ts";

/** The Node's name when none is given; one node per machine, like kind's single-node cluster. */
export const DEFAULT_NODE_NAME = "pooling-node";

const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);

/** The agent reports the control plane's own version as its kubeletVersion: the version skew policy's simplest case. */
async function serverVersion(kubeconfig: string): Promise<string> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const v = await kc.makeApiClient(VersionApi).getCode();
  return v.gitVersion;
}

async function main(argv: string[]): Promise<number> {
  const usage = "usage: pods/node/main.ts --kubeconfig FILE --run-dir DIR --service-cidr CIDR [--node-name NAME]";
  const { values } = parseCommandLine({ args: argv, options: { kubeconfig: { type: "string" }, "run-dir": { type: "string" }, "node-name": { type: "string" }, "service-cidr": { type: "string" } } }, usage);
  if (!values.kubeconfig || !values["run-dir"] || !values["service-cidr"]) throw new NodeAgentUsageError(usage);
  const projectDir = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const agent = await NodeAgent.start({
    kubeconfig: values.kubeconfig,
    nodeName: values["node-name"] ?? DEFAULT_NODE_NAME,
    runDir: resolve(values["run-dir"]),
    projectDir,
    kubeletVersion: await serverVersion(values.kubeconfig),
    serviceCidr: values["service-cidr"],
    log,
  });
  let exiting = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (exiting) return;
    exiting = true;
    log(`${signal}: stopping every pod and the pod network`);
    void agent.stop().finally(() => process.exit(0));
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
  return new Promise<number>(() => undefined); // runs until a signal; shutdown() exits
}

export const nodeAgentScript = (projectDir: string) => join(projectDir, "pods", "node", "main.ts");

if (isMain(import.meta.url)) runCli(main, { exit: true, prefix: () => `${new Date().toISOString()} ` });
