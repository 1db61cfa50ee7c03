/**
 * Keeping passwords out of logs and error messages.
 *
 * Driver errors quote connection strings and the server's own words; both can carry a password. Anything
 * that leaves the process as text goes through here first.
 */

const MASK = "***";

/** The URL with its password (and nothing else) masked; an unparsable string is returned masked whole. */
export function redactUrl(url: string): string {
  if (!URL.canParse(url)) return MASK;
  const u = new URL(url);
  if (u.password !== "") u.password = MASK;
  return u.toString();
}

// scheme://user:password@  — the password part stops at the last "@" before the host.
const USERINFO = /([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)[^\s/?#]*@/gi;

/**
 * Masks every `scheme://user:password@` in free text, and every known secret value wherever it occurs
 * (a driver may echo a password outside any URL).
 */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(USERINFO, `$1${MASK}@`);
  for (const secret of secrets) {
    // Very short secrets would mask ordinary words; they are rejected by nobody, so mask only real ones.
    if (secret.length >= 4) out = out.split(secret).join(MASK);
  }
  return out;
}

/** The passwords (raw and percent-decoded) found in a list of URLs, for {@link redactText}. */
export function passwordsOf(urls: readonly (string | undefined)[]): string[] {
  const found = new Set<string>();
  for (const url of urls) {
    if (url === undefined || !URL.canParse(url)) continue;
    const { password } = new URL(url);
    if (password === "") continue;
    found.add(password);
    try {
      found.add(decodeURIComponent(password));
    } catch {
      // A malformed escape: the raw form is all there is to mask.
    }
  }
  return [...found];
}
