// The redirect map parser on fixed input: gosherve's single-space rule, what is skipped and why.
import { describe, expect, it } from 'vitest';
import { parseRedirectMap } from './redirect-map.js';

describe('parseRedirectMap', () => {
  it('reads "alias target" lines and skips blanks and # comments silently', () => {
    const p = parseRedirectMap('# short links\n\ngh https://github.com/x\n   \n  # indented comment\ncv http://example.org/cv.pdf\n');
    expect(p.redirects).toEqual([
      { alias: 'gh', target: 'https://github.com/x' },
      { alias: 'cv', target: 'http://example.org/cv.pdf' },
    ]);
    expect(p.skipped).toEqual([]);
  });

  it('skips lines gosherve would not read as exactly two single-space-separated parts, with line numbers', () => {
    const p = parseRedirectMap(
      ['one', 'a  https://e.org/two-spaces', 'b https://e.org/x trailing', 'c https://e.org/ ', 'd\thttps://e.org/tab', 'ok https://e.org/ok'].join('\n'),
    );
    expect(p.redirects).toEqual([{ alias: 'ok', target: 'https://e.org/ok' }]);
    expect(p.skipped.map((s) => s.line)).toEqual([1, 2, 3, 4, 5]);
    expect(p.skipped[0]!.reason).toMatch(/expected "alias target"/);
    expect(p.skipped[0]!.text).toBe('one');
  });

  it('skips aliases with slashes at either end and targets that are not absolute http(s) URLs', () => {
    const p = parseRedirectMap('/x https://e.org/x\ny/ https://e.org/y\nrel not-a-url\nftp ftp://e.org/f\ngo/1 https://e.org/1\n');
    expect(p.redirects).toEqual([{ alias: 'go/1', target: 'https://e.org/1' }]);
    expect(p.skipped.map((s) => [s.line, s.reason.split(' ')[0]])).toEqual([
      [1, 'alias'],
      [2, 'alias'],
      [3, 'target'],
      [4, 'target'],
    ]);
    expect(p.skipped[2]!.reason).toContain('not an absolute URL');
    expect(p.skipped[3]!.reason).toContain('not http(s)');
  });

  it('reads CRLF maps and keeps the last definition of a repeated alias (as Go and JS maps do)', () => {
    const p = parseRedirectMap('gh https://old.example/\r\ncv https://e.org/cv\r\ngh https://new.example/\r\n');
    expect(p.redirects).toEqual([
      { alias: 'cv', target: 'https://e.org/cv' },
      { alias: 'gh', target: 'https://new.example/' },
    ]);
    expect(p.skipped).toEqual([{ line: 1, text: 'gh https://old.example/', reason: 'alias "gh" is defined again on line 3, which wins' }]);
  });
});
