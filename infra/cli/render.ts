/**
 * `npm run render -- --stack dev --out DIR`: every file the cluster would get, written to disk with no
 * cluster and no Pulumi CLI. Invalid config: every problem on stderr, a non-zero exit, no file written.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { stringify } from "yaml";
import { loadStackFile, projectDirOf, resolveStackFile } from "../config/file.ts";
import { poolDerivationNote, type StackConfig } from "../config/index.ts";
import { CliUsageError, PoolingError } from "../errors.ts";
import { parseCommandLine, runCli } from "../../lib/cli.ts";
import { generateSecrets, renderAlertRules, renderAll, renderGrafanaDashboard, SECRET_FILES } from "../render/index.ts";
import { clusterRuntime } from "../k8s/runtime.ts";
import { renderManifests } from "../k8s/manifests/index.ts";
import { createStackCa, issueStackLeaves } from "../render/index.ts";
import { kubernetesServerNames, type StackCertificates } from "../k8s/manifests/tls.ts";

const USAGE = `Usage: npm run render -- [--stack NAME | --config-file PATH] --out DIR [--with-secrets]

Writes postgresql.conf, pg_hba.conf, pgbouncer.ini, userlist.txt, redis.conf and every Kubernetes
manifest (DIR/k8s/, Secret values redacted) for the stack. userlist.txt (verifiers) and redis-auth.conf
(a password) are made from freshly generated passwords, not those of any deployment.

--with-secrets  writes those freshly generated passwords, and with pooling:tls on a fresh CA and leaves,
                into the Secret manifests instead of redacting them (mode 0600), for the pod runner
                (npm run pods), which mounts them.`;

/** The output folder (or a file in it) cannot be written. */
export class RenderOutputError extends PoolingError {
  readonly code = "POOLING_RENDER_OUTPUT_UNWRITABLE";
  constructor(
    readonly path: string,
    cause: NodeJS.ErrnoException,
  ) {
    super(`cannot write ${path}: ${cause.code ?? cause.message}. Choose another --out folder, or make this one writable`, { cause });
  }
}

interface RenderArgs {
  stack?: string;
  configFile?: string;
  out: string;
  withSecrets: boolean;
}

/** The command line, or undefined after --help; a bad one is a CliUsageError. */
function commandLine(argv: string[]): RenderArgs | undefined {
  const args = parseCommandLine(
    {
      args: argv,
      options: {
        stack: { type: "string" },
        "config-file": { type: "string" },
        out: { type: "string" },
        "with-secrets": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    },
    USAGE,
  ).values;
  if (args.help) return undefined;
  if (!args.out) throw new CliUsageError(`--out DIR is required\n\n${USAGE}`);
  return { stack: args.stack, configFile: args["config-file"], out: args.out, withSecrets: args["with-secrets"] ?? false };
}

/** A fresh CA and leaves for the pod runner: the same set the Pulumi program makes, for the cluster's names. */
async function freshCertificates(cfg: StackConfig): Promise<StackCertificates> {
  const ca = await createStackCa(cfg);
  return { caCert: ca.cert, leaves: await issueStackLeaves(cfg, ca, kubernetesServerNames(cfg)) };
}

/** Every file, rendered in memory first so a failure leaves no partial output behind. */
async function renderFiles(cfg: StackConfig, withSecrets: boolean): Promise<{ files: Record<string, string>; secretFiles: Set<string> }> {
  const secrets = generateSecrets();
  const certificates = withSecrets && cfg.tls.enabled ? await freshCertificates(cfg) : undefined;
  const files: Record<string, string> = { ...renderAll(cfg, secrets, clusterRuntime(cfg)) };
  // What the cluster's Prometheus and Grafana get: the rules as a plain rule file (the PrometheusRule
  // under k8s/ carries the same groups) and the dashboard to import.
  files[join("monitoring", "alerts.rules.yml")] = renderAlertRules(cfg, { pgbouncerFigures: "exporter" });
  files[join("monitoring", "grafana-dashboard.json")] = renderGrafanaDashboard(cfg, { pgbouncerFigures: "exporter" });
  const secretFiles = new Set<string>(SECRET_FILES);
  for (const m of renderManifests(cfg, withSecrets ? secrets : undefined, certificates)) {
    const name = join("k8s", m.file);
    files[name] = stringify(m.object, { lineWidth: 0 });
    if (withSecrets && (m.object as { kind?: string }).kind === "Secret") secretFiles.add(name);
  }
  return { files, secretFiles };
}

function writeFiles(out: string, files: Record<string, string>, secretFiles: ReadonlySet<string>): void {
  for (const [name, text] of Object.entries(files)) {
    const path = join(out, name);
    try {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text, { mode: secretFiles.has(name) ? 0o600 : 0o644 });
    } catch (err) {
      throw new RenderOutputError(path, err as NodeJS.ErrnoException);
    }
  }
}

async function main(argv: string[]): Promise<number> {
  const args = commandLine(argv);
  if (!args) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const projectDir = projectDirOf(import.meta.url, 2);
  const file = resolveStackFile(projectDir, { stack: args.stack, configFile: args.configFile });
  const cfg = loadStackFile(file, args.stack ? { stack: args.stack } : {});
  const { files, secretFiles } = await renderFiles(cfg, args.withSecrets);
  const out = resolve(args.out);
  writeFiles(out, files, secretFiles);
  const pools = poolDerivationNote(cfg);
  process.stderr.write(`rendered ${Object.keys(files).length} files for stack "${cfg.stack}" into ${out}\n${pools === undefined ? "" : `${pools}\n`}`);
  return 0;
}

runCli(main);
