/**
 * prometheus.yml for a Prometheus that watches one stack (the local stack's, `npm start -- --monitoring`):
 * scrape and evaluation intervals from `pooling:monitoring`, one job per exporter and the probe, and
 * every target labelled with the stack's namespace, as prometheus-operator labels a PodMonitor's targets,
 * so the rules' `namespace="…"` selectors mean the same here and on Kubernetes.
 */
import { stringify } from "yaml";
import type { StackConfig } from "../config/index.ts";
import { promDuration } from "./alerts.ts";
import { SCRAPE_JOBS, type ScrapeJob } from "./metrics.ts";

export interface PrometheusRuntime {
  /** host:port of each target's /metrics; a job without one is not scraped. */
  targets: Partial<Record<ScrapeJob, string>>;
  /** Rule files to load (the rendered alerting rules). */
  ruleFiles: string[];
}

export function prometheusConfig(cfg: StackConfig, rt: PrometheusRuntime) {
  const mon = cfg.monitoring;
  const jobs = (Object.keys(SCRAPE_JOBS) as ScrapeJob[]).filter((j) => rt.targets[j] !== undefined);
  return {
    global: {
      scrape_interval: promDuration(mon.scrapeInterval),
      // A scrape may not outlast its interval (Prometheus refuses a timeout greater than the interval).
      scrape_timeout: promDuration(Math.min(mon.scrapeInterval, 10_000)),
      evaluation_interval: promDuration(mon.evaluationInterval),
    },
    rule_files: rt.ruleFiles,
    scrape_configs: jobs.map((job) => ({
      job_name: SCRAPE_JOBS[job],
      static_configs: [{ targets: [rt.targets[job]!], labels: { namespace: cfg.namespace } }],
    })),
  };
}

export function renderPrometheusConfig(cfg: StackConfig, rt: PrometheusRuntime): string {
  return `# Prometheus for stack ${cfg.stack}, rendered from its config (infra/render/prometheus.ts).\n${stringify(prometheusConfig(cfg, rt), { lineWidth: 0 })}`;
}
