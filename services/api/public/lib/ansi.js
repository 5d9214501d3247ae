// ANSI colour codes (SGR) in build output, as CSS classes. Pure: text in, tokens out; the
// caller puts them in the page as text nodes, so nothing in a log is ever parsed as HTML.

// Escape sequences: CSI (ESC [ … final byte) and OSC (ESC ] … BEL or ESC \); anything else after ESC is one character.
// eslint-disable-next-line no-control-regex
const SEQUENCE = /\u001b(?:\[([0-9;?]*)([\u0040-\u007e])|\][^\u0007\u001b]*(?:\u0007|\u001b\\)|[^[\]])/g;
// An escape sequence cut off at the end of a chunk: kept until the next one completes it.
// eslint-disable-next-line no-control-regex
const UNFINISHED = /\u001b(?:\[[0-9;?]*|\][^\u0007\u001b]*|)$/;

const RESET = { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false };

/** Applies one SGR sequence's parameters ("1;31") to a style. */
export function applySgr(style, params) {
  const codes = params === "" ? [0] : params.split(";").map((p) => (p === "" ? 0 : Number(p)));
  const next = { ...style };
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i];
    if (code === 0) Object.assign(next, RESET);
    else if (code === 1) next.bold = true;
    else if (code === 2) next.dim = true;
    else if (code === 3) next.italic = true;
    else if (code === 4) next.underline = true;
    else if (code === 22) next.bold = next.dim = false;
    else if (code === 23) next.italic = false;
    else if (code === 24) next.underline = false;
    else if (code >= 30 && code <= 37) next.fg = code - 30;
    else if (code >= 90 && code <= 97) next.fg = code - 90 + 8;
    else if (code === 39) next.fg = null;
    else if (code >= 40 && code <= 47) next.bg = code - 40;
    else if (code >= 100 && code <= 107) next.bg = code - 100 + 8;
    else if (code === 49) next.bg = null;
    else if (code === 38 || code === 48) {
      // 256 colours (5;n) keep their first 16; true colour (2;r;g;b) is skipped: the palette is ours.
      const key = code === 38 ? "fg" : "bg";
      if (codes[i + 1] === 5) {
        const n = codes[i + 2];
        next[key] = n !== undefined && n < 16 ? n : null;
        i += 2;
      } else if (codes[i + 1] === 2) {
        next[key] = null;
        i += 4;
      }
    }
  }
  return next;
}

export function classesOf(style) {
  const classes = [];
  if (style.fg !== null) classes.push(`ansi-fg-${style.fg}`);
  if (style.bg !== null) classes.push(`ansi-bg-${style.bg}`);
  for (const flag of ["bold", "dim", "italic", "underline"]) if (style[flag]) classes.push(`ansi-${flag}`);
  return classes.join(" ");
}

/**
 * A stateful reader of a log as it arrives in chunks: a colour set in one chunk holds in the
 * next, and a sequence split between two chunks is read whole.
 * `feed(text)` answers tokens: `{text, className}` for text and `{newline: true}` at each line end.
 */
export function createAnsiReader() {
  let style = { ...RESET };
  let pending = "";

  function pushText(tokens, text) {
    const parts = text.split(/\r\n|\r|\n/);
    parts.forEach((part, i) => {
      if (i > 0) tokens.push({ newline: true });
      if (part !== "") tokens.push({ text: part, className: classesOf(style) });
    });
  }

  return {
    feed(chunk) {
      let text = pending + chunk;
      pending = "";
      const unfinished = UNFINISHED.exec(text);
      if (unfinished) {
        pending = unfinished[0];
        text = text.slice(0, unfinished.index);
      }
      const tokens = [];
      let last = 0;
      for (const match of text.matchAll(SEQUENCE)) {
        pushText(tokens, text.slice(last, match.index));
        last = match.index + match[0].length;
        if (match[2] === "m") style = applySgr(style, match[1] ?? "");
        // Other sequences (cursor moves, erase line) have no meaning in a scrolled log.
      }
      pushText(tokens, text.slice(last));
      return tokens;
    },
  };
}
