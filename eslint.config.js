import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "**/dist/", ".local/", "bench/out/", "coverage/", "examples/*/src/generated/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-restricted-syntax": [
        "error",
        {
          selector: "LogicalExpression[operator='||'][right.type=/Literal|ObjectExpression|ArrayExpression/]",
          message: "Use ?? for defaults so a configured 0 or empty string is kept.",
        },
      ],
    },
  },
  {
    files: ["infra/render/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            "@pulumi/*",
            "node:fs",
            "node:fs/*",
            "node:net",
            "node:http",
            "node:https",
            "node:dgram",
            "node:child_process",
            "fs",
            "net",
            "http",
            "https",
            "child_process",
            "undici",
            "pg",
            "ioredis",
            "../k8s/*",
            "../../local/*",
          ],
        },
      ],
    },
  },
  {
    files: ["infra/config/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: ["../render/*", "../k8s/*", "../../local/*"] }],
    },
  },
  {
    files: ["infra/k8s/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: ["**/local/*", "**/bench/*"] }],
    },
  },
  {
    files: ["local/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: ["@pulumi/*", "../infra/k8s/*"] }],
    },
  },
  {
    // The pod runner takes the render CLI's output as data: nothing of infra/, Pulumi or the local stack,
    // but the names in that output (infra/render/names.ts, which imports nothing), so a rename reaches it.
    files: ["pods/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["@pulumi/*", "**/local/*"] }, { regex: "(^|/)infra/(?!render/names\\.ts$)", message: "The pod runner reads the render CLI's output as data; of infra/ it may import only infra/render/names.ts." }] },
      ],
    },
  },
  {
    // The names of the render output are read by every layer, the pod runner included: they import nothing.
    files: ["infra/render/names.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: ["*"] }],
    },
  },
  {
    // The toolchain only builds binaries: it knows the lockfile and Go, nothing of the stack.
    files: ["toolchain/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: ["@pulumi/*", "**/infra/*", "**/infra/**", "**/local/*", "**/pods/*", "**/cluster/*"] }],
    },
  },
  {
    // The local control plane runs what the API server holds: nothing of Pulumi or the program.
    files: ["cluster/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: ["@pulumi/*", "**/infra/*", "**/infra/**"] }],
    },
  },
  {
    // lib/ is the shared plumbing every layer may import (errors, the CLI ending, waiting, processes,
    // back-off, ini, SQLSTATEs): it knows nothing of the project, so it imports nothing from it.
    files: ["lib/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: ["../*", "../../*"] }],
    },
  },
  {
    // The probe ships alone in its image (its Dockerfile's context is app-probe/): not even lib/.
    files: ["app-probe/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: ["../infra/*", "../../infra/*", "../local/*", "../../local/*", "../bench/*", "../../bench/*", "../lib/*", "../../lib/*"] }],
    },
  },
  {
    // An example ships alone: it takes the stack's outputs as values, never the code that makes them.
    files: ["examples/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: ["**/infra/*", "**/local/*", "**/bench/*", "**/app-probe/*"] }],
    },
  },
);
