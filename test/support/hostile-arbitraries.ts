import fc from 'fast-check';

// fast-check arbitraries for what a hostile or buggy client sends. Values are JSON *text*, so keys
// such as `__proto__` are real own keys of the body the server parses (an object literal in this
// process would turn them into a prototype), and nesting can go deeper than this process's stack.

export const PROTOTYPE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  '__defineGetter__',
] as const;

export const nestedText = (depth: number, leaf = 'true'): string =>
  `${'{"a":'.repeat(depth)}${leaf}${'}'.repeat(depth)}`;

export const nestedArrayText = (depth: number): string =>
  `${'['.repeat(depth)}${']'.repeat(depth)}`;

// Nesting as deep as `bytes` of JSON text can hold: arrays at two bytes a level, objects
// (nestedText) at six.
export const deepestNesting = (bytes: number): { arrays: string; objects: string } => ({
  arrays: nestedArrayText(Math.floor(bytes / 2)),
  objects: nestedText(Math.floor((bytes - 'true'.length) / 6)),
});

const stringText = (s: string) => JSON.stringify(s);

// Strings a database or a JSON column may choke on: NUL, lone surrogates, control characters,
// right-to-left marks, emoji, SQL and path fragments.
const nastyStrings = fc.constantFrom(
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '\u202e\u0007\u001b[31m',
  '😀'.repeat(50),
  "'; DROP TABLE threads; --",
  '../../etc/passwd',
  '%00%zz',
  '',
  ' ',
);

// Any JSON value text, mostly small, sometimes huge or deep.
export const hostileValueText: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'null',
      'true',
      'false',
      '0',
      '-0',
      '-1',
      '1.5',
      '1e308',
      '-1e308',
      '1e-400',
      '9007199254740993',
      '123456789012345678901234567890',
      '[]',
      '{}',
      '[null]',
      '{"__proto__":{"polluted":true}}',
      '{"constructor":{"prototype":{"polluted":true}}}',
      '{"toString":1,"valueOf":2}',
    ),
  },
  { weight: 2, arbitrary: nastyStrings.map(stringText) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map(stringText) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 20_000 }).map((n) => nestedText(n)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 30_000 }).map(nestedArrayText) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 1_000, max: 120_000 }).map((n) => stringText('x'.repeat(n))),
  },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.tuple(fc.constantFrom(...PROTOTYPE_KEYS), fc.jsonValue({ maxDepth: 2 })), {
        minLength: 1,
        maxLength: 4,
      })
      .map((entries) => objectText(entries.map(([k, v]) => [k, JSON.stringify(v)]))),
  },
);

export function objectText(entries: [string, string][]): string {
  return `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`;
}

// A key the schema does not have: named after the prototype, a field of another table, or random.
export const unknownKey = (known: ReadonlySet<string>): fc.Arbitrary<string> =>
  fc
    .oneof(
      fc.constantFrom(...PROTOTYPE_KEYS, 'user_id', 'userId', 'status', 'role', 'is_admin', ''),
      fc.string({ minLength: 1, maxLength: 30 }),
    )
    .filter((key) => !known.has(key));

export interface GeneratedBody {
  text: string;
  // Top-level keys the schema does not declare; empty when the body is not an object.
  unknown: string[];
  isObject: boolean;
}

// A body for an operation whose fields are `known`: mostly objects mixing plausible and hostile
// values for known fields, sometimes with unknown keys; sometimes not an object, or not JSON.
export function bodyFor(
  known: readonly string[],
  plausible: (field: string) => fc.Arbitrary<unknown>,
): fc.Arbitrary<GeneratedBody> {
  const knownSet = new Set(known);
  const fieldText = (field: string) =>
    fc.oneof(
      { weight: 3, arbitrary: plausible(field).map((v) => JSON.stringify(v)) },
      { weight: 1, arbitrary: hostileValueText },
    );
  const object = fc
    .record({
      fields: fc.subarray([...known]),
      unknown: fc.oneof(
        { weight: 2, arbitrary: fc.constant([] as string[]) },
        { weight: 1, arbitrary: fc.uniqueArray(unknownKey(knownSet), { maxLength: 3 }) },
      ),
    })
    .chain(({ fields, unknown }) =>
      fc
        .tuple(
          fc.tuple(...fields.map((f) => fieldText(f).map((v): [string, string] => [f, v]))),
          fc.tuple(...unknown.map((k) => hostileValueText.map((v): [string, string] => [k, v]))),
        )
        .map(([knownEntries, unknownEntries]) => ({
          text: objectText([...knownEntries, ...unknownEntries]),
          unknown,
          isObject: true,
        })),
    );
  const notAnObject = fc
    .oneof(
      fc.constantFrom('[]', 'null', '"text"', '42', 'true', '[{"query":"hi"}]'),
      fc.constantFrom('{"query":', '{', '[1,2', '{"a":1}}', 'nul', "{'a':1}", '\u0000'),
    )
    .map((text) => ({ text, unknown: [] as string[], isObject: false }));
  // Deeper than anything walks: an object whose one key is unknown, or arrays, up to as deep as
  // the body limit allows (a frame's is smaller: those are closed with 1009).
  const deep = fc.oneof(
    fc
      .integer({ min: 33, max: 20_000 })
      .map((n) => ({ text: nestedText(n), unknown: ['a'], isObject: true })),
    fc
      .integer({ min: 33, max: 500_000 })
      .map((n) => ({ text: nestedArrayText(n), unknown: [] as string[], isObject: false })),
  );
  return fc.oneof(
    { weight: 8, arbitrary: object },
    { weight: 1, arbitrary: notAnObject },
    { weight: 1, arbitrary: deep },
  );
}
