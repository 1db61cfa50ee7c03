import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "app-probe/**/*.test.ts", "infra/**/*.test.ts", "policy/**/*.test.ts", "bench/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration tests start real servers; two cores do not run many of them at once well.
    maxWorkers: 2,
    reporters: ["default"],
  },
});
