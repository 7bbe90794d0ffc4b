// Where a text stops being JSON: the offset, line and column of the first character a JSON parser
// cannot accept, and what was expected there. V8's own messages only sometimes carry a position
// ("Unexpected token 'r', "running (0"... is not valid JSON" has none), so error messages that
// must point at the true place use this small scanner instead. Pure; called only after
// JSON.parse has already failed.

export interface JsonSyntaxError {
  /** 0-based offset in UTF-16 code units (what String.prototype.slice counts). */
  position: number;
  /** 1-based line and column of `position`. */
  line: number;
  column: number;
  /** The offending character, quoted, or "the end of the text". */
  found: string;
  expected: string;
}

class Stop extends Error {
  constructor(
    readonly at: number,
    readonly expected: string,
  ) {
    super(expected);
  }
}

function describeChar(text: string, i: number): string {
  if (i >= text.length) return 'the end of the text';
  const c = text[i] as string;
  if (c === '\uFEFF') return 'a UTF-8 byte-order mark (U+FEFF)';
  if (c === '\n') return 'a line break';
  if (c === '\r') return 'a carriage return';
  if (c === '\t') return 'a tab';
  const code = c.charCodeAt(0);
  if (code < 0x20) return `control character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return JSON.stringify(c);
}

/** Scan `text` as JSON; null when it is valid, else the first place it is not. */
export function findJsonSyntaxError(text: string): JsonSyntaxError | null {
  let i = 0;
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++;
  };
  const literal = (word: string) => {
    for (let k = 0; k < word.length; k++) {
      if (text[i + k] !== word[k]) throw new Stop(i + k, k === 0 ? `"${word}"` : `"${word[k]}" (to complete "${word}")`);
    }
    i += word.length;
  };
  const string = () => {
    i++; // opening quote
    for (;;) {
      if (i >= text.length) throw new Stop(i, 'a closing quote (")');
      const c = text[i] as string;
      if (c === '"') {
        i++;
        return;
      }
      if (c.charCodeAt(0) < 0x20) throw new Stop(i, 'a character inside a string (control characters must be escaped)');
      if (c === '\\') {
        const e = text[i + 1];
        if (e === 'u') {
          for (let k = 2; k < 6; k++) if (!/[0-9a-fA-F]/.test(text[i + k] ?? '')) throw new Stop(i + k, 'a hex digit of a \\u escape');
          i += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) throw new Stop(i + 1, 'an escape character (" \\ / b f n r t u)');
        i += 2;
        continue;
      }
      i++;
    }
  };
  const number = () => {
    if (text[i] === '-') i++;
    if (text[i] === '0') i++;
    else if (/[1-9]/.test(text[i] ?? '')) while (/[0-9]/.test(text[i] ?? '')) i++;
    else throw new Stop(i, 'a digit');
    if (text[i] === '.') {
      i++;
      if (!/[0-9]/.test(text[i] ?? '')) throw new Stop(i, 'a digit after the decimal point');
      while (/[0-9]/.test(text[i] ?? '')) i++;
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      if (!/[0-9]/.test(text[i] ?? '')) throw new Stop(i, 'a digit of the exponent');
      while (/[0-9]/.test(text[i] ?? '')) i++;
    }
  };
  const value = (depth: number): void => {
    if (depth > 10_000) throw new Stop(i, 'less nesting');
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') throw new Stop(i, 'a property name in double quotes');
        string();
        ws();
        if (text[i] !== ':') throw new Stop(i, '":" after the property name');
        i++;
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        throw new Stop(i, '"," or "}"');
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        throw new Stop(i, '"," or "]"');
      }
    }
    if (c === '"') return string();
    if (c === 't') return literal('true');
    if (c === 'f') return literal('false');
    if (c === 'n') return literal('null');
    if (c === '-' || /[0-9]/.test(c ?? '')) return number();
    throw new Stop(i, 'a JSON value (object, array, string, number, true, false or null)');
  };
  try {
    value(0);
    ws();
    if (i < text.length) throw new Stop(i, 'the end of the text (something follows the JSON value)');
    return null;
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    const before = text.slice(0, e.at);
    const lines = before.split('\n');
    return { position: e.at, line: lines.length, column: (lines.at(-1) as string).length + 1, found: describeChar(text, e.at), expected: e.expected };
  }
}
