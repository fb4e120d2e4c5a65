// The op table's own consistency: every row's generated-JS expression computes exactly its CPU
// formula, and every public row is exported as a function and a Tensor method.
import { erf as mathErf } from 'mathjs';
import { describe, expect, it } from 'vitest';
import * as webgrad from '../src/index.js';
import { builders, leaf } from '../src/ops/build.js';
import { OPS, type OpRow } from '../src/ops/table.js';

const SPECIAL = [
  NaN,
  Infinity,
  -Infinity,
  0,
  -0,
  1,
  -1,
  0.5,
  -0.5,
  2,
  -2,
  3,
  1e-3,
  -1e-3,
  1e-30,
  30,
  -30,
  100,
  -100,
  1e30,
  -1e30,
];
// Exponents powi is built with: the product form (|p| ≤ 8) and the loop form beyond.
const POWERS = [1, 2, 3, 4, 7, 8, 9, 13, -1, -2, -3, -9];

function jsFn(row: OpRow, p: number): (a: number, b: number, c?: number) => number {
  const F = Object.fromEntries(Object.entries(OPS).map(([k, r]) => [k, r.cpu]));
  // The same wrapping the CPU backend gives generated loops: operands are plain names, F holds the formulas.
  return new Function('F', 'a', 'b', 'c', `return ${row.js('a', 'b', p, 'c')};`).bind(null, F) as (
    a: number,
    b: number,
    c?: number,
  ) => number;
}

describe('op table', () => {
  for (const [name, row] of Object.entries(OPS) as [string, OpRow][]) {
    it(`${name}: the js expression equals the cpu formula`, () => {
      const ps = name === 'powi' ? POWERS : [0];
      for (const p of ps) {
        const f = jsFn(row, p);
        const bs = row.arity >= 2 ? SPECIAL : [0];
        const cs = row.arity === 3 ? SPECIAL : [0];
        for (const a of SPECIAL) {
          for (const b of bs) {
            for (const c of cs) {
              const want = row.cpu(a, b, p, c);
              const got = f(a, b, c);
              if (Object.is(got, want)) continue;
              // Products and repeated squaring round differently in the last float64 bit, nothing more.
              expect(
                name === 'powi' && Math.abs(got - want) <= 1e-15 * Math.abs(want),
                `${name}(${a}, ${b}, ${c}; p=${p}): ${got} vs ${want}`,
              ).toBe(true);
            }
          }
        }
      }
    });
  }

  it('the rows marked commutative give the same value, bit for bit, with their operands swapped', () => {
    const marked = Object.entries(OPS)
      .filter(([, r]) => (r as OpRow).commutative === true)
      .map(([k]) => k);
    expect(marked).toEqual(['add', 'mul', 'maximum', 'minimum']);
    for (const name of marked) {
      const row = OPS[name as keyof typeof OPS] as OpRow;
      const f = jsFn(row, 0);
      for (const a of SPECIAL)
        for (const b of SPECIAL) {
          const ab = row.cpu(a, b, 0, 0);
          // NaN aside: any NaN is the same NaN once stored.
          if (Number.isNaN(ab)) expect(Number.isNaN(row.cpu(b, a, 0, 0))).toBe(true);
          else expect(Object.is(row.cpu(b, a, 0, 0), ab), `${name}(${a}, ${b})`).toBe(true);
          expect(Object.is(f(b, a), f(a, b)) || (Number.isNaN(f(a, b)) && Number.isNaN(f(b, a)))).toBe(true);
        }
    }
  });

  it('the rows marked exact give a float32 from float32 operands (the CPU does not round them)', () => {
    const marked = Object.entries(OPS)
      .filter(([, r]) => (r as OpRow).exact === true)
      .map(([k]) => k);
    expect(marked).toEqual([
      'neg',
      'relu',
      'abs',
      'maximum',
      'minimum',
      'clampmin',
      'clampmax',
      'floor',
      'ceil',
      'round',
      'trunc',
      'step',
      'sign',
      'tiehalf',
      'atleast',
      'lt',
      'le',
      'gt',
      'ge',
      'eq',
      'ne',
      'where',
      'detach',
      'leafcopy',
      'id',
    ]);
    // The special values as float32, and float32 values of every magnitude and sign, subnormals included.
    const xs = [
      ...SPECIAL.map(Math.fround),
      ...Array.from({ length: 204 }, (_, i) => Math.fround((i % 2 ? -1 : 1) * 1.37 ** (3 * i - 330))),
    ];
    for (const name of marked) {
      const row = OPS[name as keyof typeof OPS] as OpRow;
      for (const a of xs)
        for (const b of row.arity >= 2 ? xs : [0])
          for (const c of row.arity === 3 ? [0, -0, 1, NaN, a] : [0]) {
            const v = row.cpu(a, b, 0, c);
            expect(Number.isNaN(v) || Object.is(Math.fround(v), v), `${name}(${a}, ${b}, ${c}) = ${v}`).toBe(
              true,
            );
          }
    }
  });

  it("the CPU's float64 erf agrees with mathjs's to 3e-14, and at float32 rounds the same", () => {
    const erfCpu = (x: number) => (OPS.erf as OpRow).cpu(x, 0, 0, 0);
    const xs = [
      ...Array.from({ length: 20001 }, (_, i) => -7 + (14 * i) / 20000),
      ...Array.from({ length: 301 }, (_, i) => 10 ** (-30 + i / 10)),
      ...[1, 2.5, 4.5].flatMap((v) => [v, -v, v * (1 + 1e-15), v * (1 - 1e-15)]),
    ];
    for (const x of xs) {
      const got = erfCpu(x);
      const want = mathErf(x);
      expect(Math.abs(got - want), `erf(${x})`).toBeLessThanOrEqual(3e-14 * Math.abs(want));
      expect(Math.fround(erfCpu(Math.fround(x))), `erf(${x})`).toBe(Math.fround(mathErf(Math.fround(x))));
    }
    expect([NaN, -0, Infinity, -Infinity].map((x) => erfCpu(x))).toEqual([NaN, -0, 1, -1]);
  });

  it('inert operands get no gradient, and the rows with some are the comparisons, where and detach', () => {
    const one = () => leaf(new Float32Array([1]), [1], true);
    const marked: string[] = [];
    for (const [name, row] of Object.entries(OPS) as [string, OpRow][]) {
      const x = Array.from({ length: row.arity }, one);
      const gs = row.grad({ x, y: one(), dy: one(), p: 2, b: builders });
      expect(gs.length, name).toBe(row.arity);
      for (const i of row.inert ?? []) expect(gs[i], `${name} operand ${i}`).toBeNull();
      if (row.inert) marked.push(name);
    }
    expect(marked).toEqual(['lt', 'le', 'gt', 'ge', 'eq', 'ne', 'where', 'detach', 'leafcopy']);
  });

  it('every public op is exported as a function and as a Tensor method', () => {
    const x = webgrad.tensor([1, 2]);
    const api = webgrad as unknown as Record<string, unknown>;
    for (const [name, row] of Object.entries(OPS) as [string, OpRow][]) {
      if (!row.api) continue;
      expect(typeof api[name], `export ${name}`).toBe('function');
      expect(typeof (x as unknown as Record<string, unknown>)[name], `Tensor.${name}`).toBe('function');
    }
    expect([...webgrad.opNames].sort()).toEqual(
      Object.keys(OPS)
        .filter((k) => (OPS as Record<string, OpRow>)[k]!.api)
        .sort(),
    );
  });
});
