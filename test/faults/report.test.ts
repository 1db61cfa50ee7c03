import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_DIR } from "../../local/stack.ts";
import { reliabilityReport, type FaultRun } from "./report.ts";
import { errorWindowMs } from "./run.ts";

const read = (f: string) => readFileSync(join(PROJECT_DIR, f), "utf8");

describe("the committed fault run", () => {
  it("docs/reliability.md is the report of docs/reliability.json (write both with one npm run test:faults)", () => {
    expect(read("docs/reliability.md")).toBe(reliabilityReport(JSON.parse(read("docs/reliability.json")) as FaultRun));
  });
});

describe("errorWindowMs", () => {
  it("spans the failures' send times even when they completed out of order", () => {
    expect(errorWindowMs([{ at: 1005 }, { at: 1000 }, { at: 1003 }])).toBe(5);
  });

  it("is 0 without failures", () => {
    expect(errorWindowMs([])).toBe(0);
  });
});
