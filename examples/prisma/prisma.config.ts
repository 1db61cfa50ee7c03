// Prisma 7 reads the CLI's settings from here. `prisma generate` needs no database URL; the tables come
// from sql/schema.sql (see README.md), so no migrations folder is configured.
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
});
