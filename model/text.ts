/**
 * Text rules for what tenants write: names must be plain ASCII (a Cyrillic "а" in a tenant name would
 * make a second, look-alike tenant), and free text must not hide anything (control characters and
 * bidirectional overrides make a description read differently from what it is).
 */

/** Code point ranges that hide or reorder text: C0/C1 controls (but tab and newline), DEL, bidi marks,
 * embeddings, overrides and isolates, zero-width characters, word joiner and BOM. */
const HIDDEN_RANGES: readonly (readonly [number, number])[] = [
  [0x00, 0x08],
  [0x0b, 0x1f],
  [0x7f, 0x9f],
  [0x061c, 0x061c],
  [0x200b, 0x200f],
  [0x202a, 0x202e],
  [0x2060, 0x2069],
  [0xfeff, 0xfeff],
];

function isHidden(cp: number): boolean {
  return HIDDEN_RANGES.some(([lo, hi]) => cp >= lo && cp <= hi);
}

/** The first non-ASCII or non-printable character of `text`, described for an error: `"а" (U+0430) at position 3`. */
export function nonAscii(text: string): string | undefined {
  let i = 0;
  for (const ch of text) {
    i++;
    const cp = ch.codePointAt(0) as number;
    if (cp > 0x7e || cp < 0x20)
      return `${isHidden(cp) ? "an invisible character" : `"${ch}"`} (U+${hex(cp)}) at position ${i}`;
  }
  return undefined;
}

/** The first hidden or direction-changing character of free text, described for an error. */
export function hiddenCharacter(text: string): string | undefined {
  let i = 0;
  for (const ch of text) {
    i++;
    const cp = ch.codePointAt(0) as number;
    if (isHidden(cp)) return `U+${hex(cp)} at position ${i}`;
  }
  return undefined;
}

function hex(cp: number): string {
  return cp.toString(16).toUpperCase().padStart(4, "0");
}
