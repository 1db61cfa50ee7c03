/**
 * Reading pgbouncer.ini and postgresql.conf back (the policy pack from a ConfigMap, the pod runner from a
 * rendered manifest): the one parser of both. Not the `ini` package (npm/ini, lib/ini.js): it cuts an
 * unquoted value at the first `;` or `#`, JSON-parses quoted values and nests dotted section names,
 * where PgBouncer takes `;` and `#` as comments only at the start of a line ("not recognized as special
 * when they appear later in the line", pgbouncer.org/config.html) and postgresql.conf has a syntax of
 * its own (`key value` without `=`, `''` inside quotes; PostgreSQL's guc-file.l).
 */

export type IniSections = Record<string, Record<string, string>>;

/** pgbouncer.ini: `[section]` headers, `key = value` lines, `;` and `#` comments. Section and key names are case-insensitive. */
export function parseIni(text: string): IniSections {
  const sections: IniSections = {};
  let current: Record<string, string> | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith(";") || line.startsWith("#")) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header?.[1]) {
      current = sections[header[1].trim().toLowerCase()] ??= {};
      continue;
    }
    const eq = line.indexOf("=");
    if (current && eq > 0) current[line.slice(0, eq).trim().toLowerCase()] = line.slice(eq + 1).trim();
  }
  return sections;
}

/** A `[databases]` entry's `key=value` connection options (`host=… pool_size=20`). */
export function parseConnectionOptions(text: string): Record<string, string> {
  const options: Record<string, string> = {};
  for (const m of text.matchAll(/([A-Za-z_]+)\s*=\s*('(?:[^'\\]|\\.)*'|\S*)/g)) {
    if (m[1] !== undefined) options[m[1].toLowerCase()] = (m[2] ?? "").replace(/^'(.*)'$/, "$1");
  }
  return options;
}

/** postgresql.conf: `key = value` or `key value`, `#` comments, quoted values; the last setting of a key wins, as in PostgreSQL. */
export function parsePostgresqlConf(text: string): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const m = /^\s*([A-Za-z_][\w.]*)\s*(?:=\s*|\s+)('(?:[^'\\]|\\.|'')*'|[^\s#]+)/.exec(raw);
    if (m?.[1] && m[2] !== undefined) settings[m[1].toLowerCase()] = m[2].replace(/^'(.*)'$/, "$1");
  }
  return settings;
}

/** A whole non-negative number, or undefined for anything else ("", "20MB", "-1"). */
export function intSetting(v: string | undefined): number | undefined {
  return v !== undefined && /^\d+$/.test(v.trim()) ? Number(v.trim()) : undefined;
}
