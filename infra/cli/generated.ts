/**
 * Generated parts of hand-written Markdown: the text between `<!-- generated:NAME -->` and
 * `<!-- /generated:NAME -->` belongs to `npm run docs`; everything around it is left alone.
 */
import { PoolingError } from "../errors.ts";

/** A hand-written page lacks the markers of its generated part, or has them out of order. */
export class DocsMarkerError extends PoolingError {
  readonly code = "POOLING_DOCS_MARKERS";
}

export const markers = (name: string) => ({ start: `<!-- generated:${name} (npm run docs writes this part) -->`, end: `<!-- /generated:${name} -->` });

/** `text` with the part named `name` replaced by `content`; throws when the markers are missing or out of order. */
export function withGenerated(text: string, file: string, name: string, content: string): string {
  const { start, end } = markers(name);
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a || text.indexOf(start, a + 1) >= 0) throw new DocsMarkerError(`${file} needs the marker ${start} once, followed by ${end}`);
  return `${text.slice(0, a + start.length)}\n${content.trimEnd()}\n${text.slice(b)}`;
}

/** 12606.7 → "12,607": figures as a reader of a summary wants them. */
export const count = (n: number) => Math.round(n).toLocaleString("en-US");

/** 355.9 → "356 ms", 1770.3 → "1.8 s". */
export const latency = (ms: number) => (ms < 1000 ? `${count(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);
