/**
 * One run of the pod runner: render, start every workload, wait for Ready, run the checks in an order
 * where each leaves the stack whole for the next, stop everything as the kubelet would, report.
 */
import { join } from "node:path";
import { missingServers, requirePrerequisites } from "./prerequisites.ts";
import { Cluster, type PodInfo } from "./cluster.ts";
import { PodNetwork } from "./network.ts";
import { detectStandIns } from "./standins.ts";
import { loadManifests } from "./manifests.ts";
import { imagesByContainer, renderStack, writeStackVariant } from "./stack.ts";
import type { CheckContext, CheckResult } from "./checks/context.ts";
import { drainUnderLoad, postgresRestartKeepsData, probeEndToEnd } from "./checks/data.ts";
import { networkPoliciesEnforced, reloadWithoutRestart, rolloutBudget, terminateWithinGrace } from "./checks/lifecycle.ts";

export interface PodReport {
  name: string;
  workload: string;
  ready: boolean;
  readySeconds: number | null;
  restarts: number;
  terminationSeconds: number | null;
  graceSeconds: number;
  containers: Array<{ name: string; image: string; standIn: string | null; exitSeconds: number | null; exitCode: number | null }>;
}

export interface PodsReport {
  pods: PodReport[];
  checks: CheckResult[];
  /** Which binary stood in for which image, with its detected version; null where nothing could. */
  standIns: Array<{ image: string; standIn: string | null; reason?: string }>;
}

export interface RunOptions {
  projectDir: string;
  stackFile: string;
  /**
   * Run these manifests (a folder of YAML, such as the Pulumi engine's `renderYamlToDirectory` output)
   * instead of the render CLI's. They must be for the stand-ins' versions; the checks that re-render a
   * changed stack still render `stackFile`.
   */
  manifestsDir?: string;
  runDir: string;
  short: boolean;
  log: (line: string) => void;
}

/** The checks in the order they run; each leaves every workload Ready for the next. */
const CHECKS: Array<(ctx: CheckContext) => Promise<CheckResult>> = [probeEndToEnd, networkPoliciesEnforced, reloadWithoutRestart, rolloutBudget, drainUnderLoad, postgresRestartKeepsData];

function podReport(p: PodInfo, images: Map<string, string>): PodReport {
  return {
    name: p.name,
    workload: p.workload,
    ready: p.everReady,
    readySeconds: p.readySeconds ?? null,
    restarts: p.containers.reduce((n, c) => n + c.restarts, 0),
    terminationSeconds: p.terminationSeconds ?? null,
    graceSeconds: p.graceSeconds,
    containers: p.containers.map((c) => ({
      name: c.name,
      // The image the stack deploys; the stand-in stack may name another tag for the stand-in's version.
      image: images.get(`${p.workload}/${c.name}`) ?? c.image,
      standIn: c.standIn,
      exitSeconds: c.exitSeconds ?? null,
      exitCode: c.exitCode ?? null,
    })),
  };
}

export async function runPods(opts: RunOptions): Promise<PodsReport> {
  const { log } = opts;
  const standIns = await detectStandIns({ projectDir: opts.projectDir, cacheDir: join(opts.projectDir, ".local", "pods"), log });
  // The stack's own images, for the report; then the stack rendered for the versions that really run.
  const asDeployed = loadManifests(await renderStack(opts.projectDir, opts.stackFile, join(opts.runDir, "render-stack")));
  const variant = (values: Record<string, string | number>) => writeStackVariant(opts.stackFile, join(opts.runDir, `stack-${Date.now()}`), { ...standIns.stackVersions, ...values });
  let n = 0;
  const renderVariant = async (values: Record<string, string | number>) => loadManifests(await renderStack(opts.projectDir, variant(values), join(opts.runDir, `render-${++n}`)));
  const manifestsDir = opts.manifestsDir ?? (await renderStack(opts.projectDir, variant({}), join(opts.runDir, "render-0")));
  const manifests = loadManifests(manifestsDir);
  // Every server the checks exercise must have a stand-in here; without one its pod could never be Ready.
  requirePrerequisites(missingServers(manifests, standIns));
  if (opts.manifestsDir) log(`read ${manifests.length} manifests from ${opts.manifestsDir}`);
  else log(`rendered ${manifests.length} manifests for the stand-ins' versions (${Object.entries(standIns.stackVersions).map(([k, v]) => `${k} ${v}`).join(", ")})`);

  await PodNetwork.sweepStale(log);
  const network = await PodNetwork.create({ log });
  const cluster = await Cluster.start({ manifestsDir, runDir: join(opts.runDir, "cluster"), network, standIns, log });
  const onSignal = () => void cluster.stop();
  process.once("SIGINT", onSignal).once("SIGTERM", onSignal);
  const checks: CheckResult[] = [];
  try {
    try {
      await cluster.waitReady(opts.short ? 240_000 : 300_000);
      checks.push({ name: "all-pods-ready", ok: true, detail: cluster.pods().map((p) => `${p.name} ${p.readySeconds?.toFixed(1)} s`).join(", ") });
    } catch (err) {
      checks.push({ name: "all-pods-ready", ok: false, detail: (err as Error).message });
    }
    const ctx: CheckContext = { cluster, manifests, rerender: renderVariant, log, short: opts.short };
    if (checks[0]!.ok) {
      for (const check of CHECKS) {
        log(`check ${check.name}`);
        try {
          checks.push(await check(ctx));
        } catch (err) {
          checks.push({ name: check.name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), ok: false, detail: (err as Error).message });
        }
        log(`${checks.at(-1)!.ok ? "ok" : "FAILED"}: ${checks.at(-1)!.detail}`);
      }
    }
  } finally {
    await cluster.stop();
    process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
  }
  const history = cluster.history();
  checks.push(terminateWithinGrace(history.filter((p) => p.terminationSeconds !== undefined)));
  const images = imagesByContainer(asDeployed);
  return { pods: history.map((p) => podReport(p, images)), checks, standIns: standIns.report() };
}
