/**
 * The one manifest loader: every YAML document under a folder (the render CLI's DIR/k8s), sorted by path
 * so a run is repeatable, typed by kubernetes-models (pods/k8s.ts).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { parseAllDocuments } from "yaml";
import { ManifestError } from "./errors.ts";
import type { Manifest } from "./k8s.ts";

/** A manifest and the file it came from, relative to the folder read. */
export interface LoadedManifest {
  file: string;
  object: Manifest;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Every manifest under `dir`. What is checked here is what every object needs (apiVersion, kind,
 * metadata.name); the rest is the renderer's, whose output test/k8s/openapi.test.ts holds to the API's
 * schema, so the document is taken as the interface its kind names.
 */
export function loadManifests(dir: string): LoadedManifest[] {
  const out: LoadedManifest[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.ya?ml$/.test(name)) {
        for (const doc of parseAllDocuments(readFileSync(path, "utf8"))) {
          if (doc.errors.length) throw new ManifestError(`${relative(dir, path)}: ${doc.errors[0]!.message}`);
          const object: unknown = doc.toJS();
          if (object === null || object === undefined) continue;
          if (!isRecord(object) || typeof object.apiVersion !== "string" || typeof object.kind !== "string" || !isRecord(object.metadata) || typeof object.metadata.name !== "string") {
            throw new ManifestError(`${relative(dir, path)}: a manifest needs apiVersion, kind and metadata.name`);
          }
          out.push({ file: relative(dir, path), object: object as unknown as Manifest });
        }
      }
    }
  };
  walk(dir);
  return out;
}

/** The kinds the cluster acts on; any other kind is noted and skipped. */
export const ACTED_ON = new Set(["ConfigMap", "Secret", "Service", "NetworkPolicy", "Deployment", "StatefulSet"]);
