/**
 * Manifests as data: every YAML document under a folder (the render CLI's DIR/k8s), sorted by path so a
 * run is repeatable, sorted into what the cluster acts on and what it only notes.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { parseAllDocuments } from "yaml";
import { ManifestError } from "./errors.ts";
import type { KObject } from "./k8s.ts";

export function loadManifests(dir: string): Array<{ file: string; object: KObject }> {
  const out: Array<{ file: string; object: KObject }> = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.ya?ml$/.test(name)) {
        for (const doc of parseAllDocuments(readFileSync(path, "utf8"))) {
          if (doc.errors.length) throw new ManifestError(`${relative(dir, path)}: ${doc.errors[0]!.message}`);
          const object = doc.toJS() as KObject | null;
          if (!object) continue;
          if (!object.kind || !object.metadata?.name) throw new ManifestError(`${relative(dir, path)}: a manifest needs kind and metadata.name`);
          out.push({ file: relative(dir, path), object });
        }
      }
    }
  };
  walk(dir);
  return out;
}

/** The kinds the cluster acts on; any other kind is noted and skipped. */
export const ACTED_ON = new Set(["ConfigMap", "Secret", "Service", "NetworkPolicy", "Deployment", "StatefulSet"]);
