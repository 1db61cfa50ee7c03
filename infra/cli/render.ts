/**
 * `npm run render -- --stack dev --out DIR`: every file the cluster would get, written to disk with no
 * cluster and no Pulumi CLI. Invalid config: every problem on stderr, a non-zero exit, no file written.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { loadStackFile, projectDirOf, resolveStackFile } from "../config/file.ts";
import { ConfigError, poolDerivationNote } from "../config/index.ts";
import { generateSecrets, renderAll, SECRET_FILES } from "../render/index.ts";
import { clusterRuntime } from "../k8s/runtime.ts";
import { renderManifests } from "../k8s/manifests/index.ts";

const USAGE = `Usage: npm run render -- [--stack NAME | --config-file PATH] --out DIR [--with-secrets]

Writes postgresql.conf, pg_hba.conf, pgbouncer.ini, userlist.txt, redis.conf and every Kubernetes
manifest (DIR/k8s/, Secret values redacted) for the stack. userlist.txt (verifiers) and redis-auth.conf
(a password) are made from freshly generated passwords, not those of any deployment.

--with-secrets  writes those freshly generated passwords into the Secret manifests instead of redacting
                them (mode 0600), for the pod runner (npm run pods), which mounts them.`;

function main(): number {
  let args;
  try {
    args = parseArgs({
      options: {
        stack: { type: "string" },
        "config-file": { type: "string" },
        out: { type: "string" },
        "with-secrets": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!args.out) {
    process.stderr.write(`--out DIR is required\n\n${USAGE}\n`);
    return 2;
  }
  const projectDir = projectDirOf(import.meta.url, 2);
  const file = resolveStackFile(projectDir, { stack: args.stack, configFile: args["config-file"] });
  let cfg;
  try {
    cfg = loadStackFile(file, args.stack ? { stack: args.stack } : {});
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 1;
  }
  // Everything is rendered in memory first, so a failure leaves no partial output behind.
  const secrets = generateSecrets();
  const files: Record<string, string> = { ...renderAll(cfg, secrets, clusterRuntime(cfg)) };
  const secretFiles = new Set<string>(SECRET_FILES);
  for (const m of renderManifests(cfg, args["with-secrets"] ? secrets : undefined)) {
    const name = join("k8s", m.file);
    files[name] = stringify(m.object, { lineWidth: 0 });
    if (args["with-secrets"] && (m.object as { kind?: string }).kind === "Secret") secretFiles.add(name);
  }
  const out = resolve(args.out);
  for (const [name, text] of Object.entries(files)) {
    const path = join(out, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text, { mode: secretFiles.has(name) ? 0o600 : 0o644 });
  }
  const pools = poolDerivationNote(cfg);
  process.stderr.write(`rendered ${Object.keys(files).length} files for stack "${cfg.stack}" into ${out}\n${pools === undefined ? "" : `${pools}\n`}`);
  return 0;
}

process.exitCode = main();
