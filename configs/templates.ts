/**
 * The template files, read once. Kept beside the templates so the renderers themselves touch no file
 * system and stay pure.
 */
import { readFileSync } from "node:fs";

const read = (name: string) => readFileSync(new URL(`./${name}`, import.meta.url), "utf8");

export const TEMPLATES = {
  pgbouncerIni: read("pgbouncer.ini.tmpl"),
  postgresqlConf: read("postgresql.conf.tmpl"),
  pgHbaConf: read("pg_hba.conf.tmpl"),
  pgbouncerHbaConf: read("pgbouncer_hba.conf.tmpl"),
  redisConf: read("redis.conf.tmpl"),
  userlistTxt: read("userlist.txt.tmpl"),
} as const;

export type TemplateName = keyof typeof TEMPLATES;
