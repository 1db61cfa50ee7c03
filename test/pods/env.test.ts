/**
 * Environment and command line as Kubernetes builds them: pure functions, no processes.
 */
import { describe, expect, it } from "vitest";
import { commandLine, expand, kubeletEnv, runtimeEnv, type EnvContext } from "../../pods/env.ts";
import { EnvSourceError } from "../../pods/errors.ts";
import type { ConfigMap, Container, Secret, Service } from "../../pods/k8s.ts";
import { serviceEnv } from "../../pods/service-env.ts";

const ctx = (objects: { cm?: ConfigMap; secret?: Secret } = {}): EnvContext => ({
  pod: { name: "web-0", namespace: "t", ip: "10.0.0.9", labels: { app: "web" }, annotations: {}, nodeName: "node", hostIp: "10.0.0.1" },
  configMap: (n) => (objects.cm?.metadata.name === n ? objects.cm : undefined),
  secret: (n) => (objects.secret?.metadata.name === n ? objects.secret : undefined),
});

describe("$(VAR) expansion", () => {
  const vars: Record<string, string> = { A: "a", B: "b" };
  const x = (s: string) => expand(s, (n) => vars[n]);

  it("replaces known variables and keeps unknown ones as written", () => {
    expect(x("$(A)-$(B)-$(C)")).toBe("a-b-$(C)");
  });

  it("treats $$ as an escaped $", () => {
    expect(x("$$(A) $$ $$$(A)")).toBe("$(A) $ $a");
  });

  it("keeps an unterminated reference, a lone $ and $ before another character", () => {
    expect(x("$(A")).toBe("$(A");
    expect(x("cost $")).toBe("cost $");
    expect(x("$A $(A)")).toBe("$A a");
  });
});

describe("the kubelet's env", () => {
  it("takes envFrom first, then env in order, each value expanded against what came before", () => {
    const cm: ConfigMap = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data: { HOST: "db", PORT: "5432" } };
    const c: Container = {
      name: "c",
      image: "x",
      envFrom: [{ configMapRef: { name: "c" }, prefix: "DB_" }],
      env: [
        { name: "URL", value: "$(DB_HOST):$(DB_PORT)/$(LATER)" },
        { name: "LATER", value: "x" },
        { name: "DB_PORT", value: "6432" },
        { name: "IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
        { name: "APP", valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
      ],
    };
    expect([...kubeletEnv(c, ctx({ cm }))]).toEqual([
      ["DB_HOST", "db"],
      ["DB_PORT", "6432"],
      ["URL", "db:5432/$(LATER)"],
      ["LATER", "x"],
      ["IP", "10.0.0.9"],
      ["APP", "web"],
    ]);
  });

  it("refuses a missing Secret key unless optional, as CreateContainerConfigError", () => {
    const secret: Secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, data: { a: Buffer.from("1").toString("base64") } };
    const c = (optional?: boolean): Container => ({ name: "c", image: "x", env: [{ name: "B", valueFrom: { secretKeyRef: { name: "s", key: "b", optional } } }] });
    expect(() => kubeletEnv(c(), ctx({ secret }))).toThrow(EnvSourceError);
    expect(() => kubeletEnv(c(), ctx({ secret }))).toThrow("couldn't find key b in Secret t/s");
    expect([...kubeletEnv(c(true), ctx({ secret }))]).toEqual([]);
  });

  it("lets the container's variables replace the image's in place, after HOSTNAME", () => {
    const env = runtimeEnv("web-0", { PATH: "/img/bin", LANG: "C" }, new Map([["LANG", "C.UTF-8"], ["X", "1"]]));
    expect(env).toEqual([
      ["HOSTNAME", "web-0"],
      ["PATH", "/img/bin"],
      ["LANG", "C.UTF-8"],
      ["X", "1"],
    ]);
  });
});

describe("command and args", () => {
  const image = { entrypoint: ["/entry.sh"], cmd: ["serve"] };
  const env = new Map([["PORT", "80"]]);

  it("replaces the entrypoint with command and drops the image's cmd", () => {
    expect(commandLine({ name: "c", image: "x", command: ["run", "$(PORT)"] }, image, env)).toEqual({ argv: ["run", "80"], relied: [] });
  });

  it("keeps the entrypoint when only args are given, and reports relying on it", () => {
    expect(commandLine({ name: "c", image: "x", args: ["--port=$(PORT)"] }, image, env)).toEqual({ argv: ["/entry.sh", "--port=80"], relied: ['ENTRYPOINT ["/entry.sh"]'] });
  });

  it("uses the image's entrypoint and cmd when neither is given", () => {
    expect(commandLine({ name: "c", image: "x" }, image, env).argv).toEqual(["/entry.sh", "serve"]);
  });
});

describe("Service link variables", () => {
  const hosts = "127.0.0.1\tlocalhost\n198.19.0.2\tpg-bouncer pg-bouncer.t pg-bouncer.t.svc pg-bouncer.t.svc.cluster.local\n198.19.0.3\tother.x other.x.svc other.x.svc.cluster.local\n";
  const svc = (name: string, ns: string): Service => ({ apiVersion: "v1", kind: "Service", metadata: { name, namespace: ns }, spec: { ports: [{ name: "pg", port: 6432 }, { name: "metrics", port: 9127, protocol: "TCP" }] } });

  it("gives the pod's namespace's Services as the kubelet does, the address from the pod's /etc/hosts", () => {
    const env = serviceEnv([svc("pg-bouncer", "t"), svc("other", "x")], "t", hosts);
    expect(Object.fromEntries(env)).toEqual({
      PG_BOUNCER_SERVICE_HOST: "198.19.0.2",
      PG_BOUNCER_SERVICE_PORT: "6432",
      PG_BOUNCER_SERVICE_PORT_PG: "6432",
      PG_BOUNCER_SERVICE_PORT_METRICS: "9127",
      PG_BOUNCER_PORT: "tcp://198.19.0.2:6432",
      PG_BOUNCER_PORT_6432_TCP: "tcp://198.19.0.2:6432",
      PG_BOUNCER_PORT_6432_TCP_PROTO: "tcp",
      PG_BOUNCER_PORT_6432_TCP_PORT: "6432",
      PG_BOUNCER_PORT_6432_TCP_ADDR: "198.19.0.2",
      PG_BOUNCER_PORT_9127_TCP: "tcp://198.19.0.2:9127",
      PG_BOUNCER_PORT_9127_TCP_PROTO: "tcp",
      PG_BOUNCER_PORT_9127_TCP_PORT: "9127",
      PG_BOUNCER_PORT_9127_TCP_ADDR: "198.19.0.2",
    });
  });

  it("expands $(VAR) against them and never lets them replace a declared variable", () => {
    const c: Container = { name: "c", image: "x", env: [{ name: "PG_BOUNCER_PORT", value: "6432" }, { name: "URL", value: "$(PG_BOUNCER_SERVICE_HOST):$(PG_BOUNCER_PORT)" }] };
    const env = kubeletEnv(c, { ...ctx(), serviceEnv: serviceEnv([svc("pg-bouncer", "t")], "t", hosts) });
    expect(env.get("PG_BOUNCER_PORT")).toBe("6432");
    expect(env.get("URL")).toBe("198.19.0.2:6432");
    expect(env.get("PG_BOUNCER_SERVICE_HOST")).toBe("198.19.0.2");
  });
});
