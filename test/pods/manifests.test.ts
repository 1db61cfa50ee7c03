/**
 * The pod runner's one manifest loader (pods/manifests.ts) and the typed look-ups over what it returns
 * (lib/kubernetes-models.ts, pods/stack.ts). Files only: no namespace, mount or nft table is made.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROLE_LABEL } from "../../infra/render/names.ts";
import { isKind, ofKind } from "../../pods/k8s.ts";
import { loadManifests } from "../../pods/manifests.ts";
import { byRole, configFile, dataValue, podSpecOf, workloadOf } from "../../pods/stack.ts";
import { removeTempDirs, tempDir } from "./helpers.ts";

afterAll(removeTempDirs);

const deployment = (apiVersion: string, name: string, role: string) =>
  `apiVersion: ${apiVersion}\nkind: Deployment\nmetadata:\n  name: ${name}\n  labels:\n    ${ROLE_LABEL}: ${role}\nspec:\n  selector: {matchLabels: {app: ${name}}}\n  template:\n    spec:\n      containers: [{name: server, image: "pgbouncer:1.18"}]\n`;

function folder(files: Record<string, string>): string {
  const dir = tempDir("manifests");
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe("loadManifests", () => {
  it("reads every document of every YAML file under the folder, sorted by path, empty documents skipped", () => {
    const dir = folder({
      "b/config.yaml": `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, labels: {${ROLE_LABEL}: pooler}}\ndata: {pgbouncer.ini: "[pgbouncer]\\n"}\n---\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {password: ${Buffer.from("pw").toString("base64")}}\n`,
      "a/deployment.yml": deployment("apps/v1", "pgbouncer", "pooler"),
      "notes.txt": "not a manifest",
    });
    const loaded = loadManifests(dir);
    expect(loaded.map((m) => `${m.file} ${m.object.kind}/${m.object.metadata.name}`)).toEqual(["a/deployment.yml Deployment/pgbouncer", "b/config.yaml ConfigMap/cfg", "b/config.yaml Secret/s"]);
    const secret = ofKind(loaded.map((m) => m.object), "Secret")[0]!;
    expect(dataValue(secret, "password")).toBe("pw");
    expect(configFile(loaded, "pooler", "pgbouncer.ini")).toBe("[pgbouncer]\n");
  });

  it("refuses a document without apiVersion, kind or metadata.name, naming its file", () => {
    expect(() => loadManifests(folder({ "x/cm.yaml": "kind: ConfigMap\nmetadata: {name: c}\n" }))).toThrow(/^x\/cm\.yaml: a manifest needs apiVersion, kind and metadata\.name$/);
    expect(() => loadManifests(folder({ "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n" }))).toThrow(/cm\.yaml: a manifest needs/);
  });
});

describe("typed look-ups", () => {
  it("takes a kind at the apiVersion kubernetes-models types it, not another apiVersion of the same kind", () => {
    const loaded = loadManifests(folder({ "new.yaml": deployment("apps/v1", "pgbouncer", "pooler"), "old.yaml": deployment("extensions/v1beta1", "legacy", "pooler") }));
    const objects = loaded.map((m) => m.object);
    expect(objects.filter((o) => isKind(o, "Deployment")).map((o) => o.metadata.name)).toEqual(["pgbouncer"]);
    const found = byRole(loaded, "Deployment", "pooler");
    expect(podSpecOf(found).containers[0]?.image).toBe("pgbouncer:1.18");
    expect(workloadOf(loaded, "pooler")).toBe(found);
  });

  it("says how many objects of a role it found when there is not exactly one", () => {
    const loaded = loadManifests(folder({ "one.yaml": deployment("apps/v1", "a", "pooler"), "two.yaml": deployment("apps/v1", "b", "pooler") }));
    expect(() => workloadOf(loaded, "pooler")).toThrow(`the rendered manifests have 2 workloads labelled ${ROLE_LABEL}=pooler; the checks need exactly one`);
    expect(() => byRole(loaded, "Deployment", "cache")).toThrow(`the rendered manifests have no Deployment labelled ${ROLE_LABEL}=cache; the checks need exactly one`);
  });
});
