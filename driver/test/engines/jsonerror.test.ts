// The JSON error locator against V8's own parser: it accepts what JSON.parse accepts, and where V8
// names a position, ours is the same; where V8 names none, ours still points at the character.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findJsonSyntaxError } from '../../src/engines/jsonerror.js';

const PUBLIC = '/work/shared/fixtures/k6-summaries';
const texts = readdirSync(PUBLIC)
  .filter((f) => f.endsWith('.json'))
  .map((f) => readFileSync(join(PUBLIC, f), 'utf8'));

function v8Position(text: string): number | null | 'valid' {
  try {
    JSON.parse(text);
    return 'valid';
  } catch (e) {
    const m = /position (\d+)/.exec((e as Error).message);
    return m ? Number(m[1]) : null;
  }
}

describe('findJsonSyntaxError', () => {
  it('accepts every real summary and JSON edge cases', () => {
    for (const t of [...texts, '0', '-0.5e+3', '"\\u00e9\\n"', '[]', '{}', ' [1, [2, {"a": null}], true, false] ']) expect(findJsonSyntaxError(t)).toBeNull();
  });

  it('agrees with V8 wherever V8 names a position (every cut and every injected character of a real file)', () => {
    const text = texts[0]!.slice(0, 1500);
    let compared = 0;
    for (let cut = 1; cut < text.length; cut += 7) {
      for (const variant of [text.slice(0, cut), `${text.slice(0, cut)}#${text.slice(cut)}`, `${text.slice(0, cut)},${text.slice(cut)}`]) {
        const v8 = v8Position(variant);
        const ours = findJsonSyntaxError(variant);
        if (v8 === 'valid') {
          expect(ours, variant).toBeNull();
          continue;
        }
        expect(ours, variant).not.toBeNull();
        if (v8 !== null) {
          expect(ours!.position, variant).toBe(v8);
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(100);
  });

  it('line and column count from 1; the found character is named', () => {
    expect(findJsonSyntaxError('{\n  "a": 1,\n  "b": x\n}')).toEqual({
      position: 19,
      line: 3,
      column: 8,
      found: '"x"',
      expected: 'a JSON value (object, array, string, number, true, false or null)',
    });
    expect(findJsonSyntaxError('\uFEFF{}')).toMatchObject({ position: 0, found: 'a UTF-8 byte-order mark (U+FEFF)' });
    expect(findJsonSyntaxError('{"a": "x\ty"}')).toMatchObject({ position: 8, found: 'a tab' });
    expect(findJsonSyntaxError('[1, 2')).toMatchObject({ position: 5, found: 'the end of the text', expected: '"," or "]"' });
  });
});
