/**
 * `promtool test rules` input built from the alert specs: for each rule, series that put its figure one
 * step past the threshold (the alert must fire, with its labels and annotations) and one step short of
 * it (it must stay silent), held for the rule's `for` and two evaluations more.
 */
import { promDuration, type AlertSpec, type Series } from "../../infra/render/index.ts";

/** The values of the `by` labels every test series carries. */
export const TEST_LABELS: Readonly<Record<string, string>> = { instance: "10.0.0.7:9127", job: "test-job", user: "app" };

/** The smallest figure that fires, and the largest one step below it that does not. */
export function boundary(a: AlertSpec): { fires: number; silent: number } {
  if (a.op === "==") return { fires: a.threshold, silent: a.threshold + 1 };
  const fires = a.op === ">" ? Math.floor(a.threshold) + 1 : a.threshold;
  return { fires, silent: fires - 1 };
}

const seriesText = (s: Series) =>
  `${s.name}{${Object.entries(s.labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(",")}}`;

/** How Prometheus' template engine prints `{{ $value }}` for these whole numbers (Go's %v of a float64). */
const goFloat = (v: number) => String(v);

function expanded(text: string, labels: Record<string, string>, value: number): string {
  return text.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, l: string) => labels[l] ?? "").replace(/\{\{ \$value \}\}/g, goFloat(value));
}

export interface PromtoolCase {
  alert: string;
  value: number;
  fires: boolean;
}

/** One promtool test group: the rule's input series at `value`, evaluated once its `for` has passed. */
export function promtoolTest(a: AlertSpec, labels: Record<string, string>, value: number, fires: boolean, evaluationIntervalMs: number, stack: string) {
  const byLabels = Object.fromEntries(a.by.map((l) => [l, labels[l]!]));
  const evalMs = a.forMs + 2 * evaluationIntervalMs;
  const samples = Math.ceil(evalMs / evaluationIntervalMs) + 2;
  return {
    interval: promDuration(evaluationIntervalMs),
    input_series: a.series(value, byLabels).map((s) => ({ series: seriesText(s), values: `${s.value}+0x${samples}` })),
    alert_rule_test: [
      {
        eval_time: promDuration(evalMs),
        alertname: a.alert,
        exp_alerts: fires
          ? [
              {
                exp_labels: { ...byLabels, severity: a.severity, stack },
                exp_annotations: {
                  summary: expanded(a.summary, byLabels, value),
                  description: expanded(a.description, byLabels, value),
                  config_key: a.key,
                },
              },
            ]
          : [],
      },
    ],
  };
}

/** The whole test file: every rule fired one step past its threshold and left silent one step below. */
export function promtoolTestFile(ruleFile: string, specs: AlertSpec[], stackLabels: { namespace: string; database: string }, evaluationIntervalMs: number, stack: string) {
  const labels = { ...TEST_LABELS, ...stackLabels };
  return {
    rule_files: [ruleFile],
    evaluation_interval: promDuration(evaluationIntervalMs),
    tests: specs.flatMap((a) => {
      const { fires, silent } = boundary(a);
      return [promtoolTest(a, labels, fires, true, evaluationIntervalMs, stack), promtoolTest(a, labels, silent, false, evaluationIntervalMs, stack)];
    }),
  };
}
