/** The chain rule section: the derivation table for one point, and the cross-check against webgrad. */
import { tensor, type Tensor } from '../src/index.js';
import { agrees, chainRule, howClose, type Chain } from './chain.js';
import type { Parsed } from './expr.js';
import { toTensor } from './lower.js';
import { readFloat32 } from './playground.js';
import { byId, num, say, showFormula } from './format.js';

/** The derivation shown last, for tests: float64 adjoints and webgrad's float32 gradients. */
export interface ChainState {
  run: number;
  status: 'idle' | 'ok' | 'error';
  chain: Chain | null;
  webgrad: Record<string, number>;
  ok: boolean;
}

/** webgrad's gradients at one point, computed the notebook's way. */
async function webgradGrads(p: Parsed, point: Record<string, number>): Promise<Record<string, number>> {
  const env: Record<string, Tensor> = {};
  for (const v of p.vars) env[v] = tensor(point[v]!, { requiresGrad: true });
  const out = toTensor(p.expr, env);
  const grads: Record<string, number> = {};
  if (typeof out !== 'number' && out.requiresGrad) out.backward();
  for (const v of p.vars) grads[v] = env[v]!.grad ? await env[v]!.grad.item() : 0;
  return grads;
}

const cell = (row: HTMLTableRowElement, text: string, cls?: string): HTMLTableCellElement => {
  const td = row.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
};

/** The chain rule view of the playground's formula. */
export class ChainView {
  /** Exposed for tests: the last derivation. */
  readonly state: ChainState = { run: 0, status: 'idle', chain: null, webgrad: {}, ok: false };
  private parsed: Parsed | null = null;
  private readonly section = byId('chain');
  private readonly xIn = byId<HTMLInputElement>('chain-x');
  private readonly yIn = byId<HTMLInputElement>('chain-y');
  private readonly errorEl = byId('chain-error');
  private readonly body = byId<HTMLTableElement>('chain-table').tBodies[0]!;
  private readonly check = byId<HTMLTableElement>('chain-check').tBodies[0]!;
  private readonly texEl = byId('chain-formula');
  // Derivations started: one that ends after a later one started shows nothing (the later one's formula
  // stands, not the one computed before it).
  private started = 0;

  constructor() {
    byId<HTMLFormElement>('chain-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      void this.run();
    });
  }

  /** Derives `p` (the playground's formula) at the chosen point. */
  show(p: Parsed): Promise<void> {
    this.parsed = p;
    // y is asked for where the formula derived here has one (not the one being typed in the playground).
    this.yIn.disabled = !p.vars.includes('y');
    return this.run();
  }

  /** Recomputes the derivation at the point in the form. */
  async run(): Promise<void> {
    const s = this.state;
    const mine = ++this.started;
    try {
      if (!this.parsed) throw new Error('Compute a formula in the playground first.');
      const p = this.parsed;
      const point: Record<string, number> = { x: readFloat32('x', this.xIn.value) };
      if (p.vars.includes('y')) point.y = readFloat32('y', this.yIn.value);
      // webgrad works in float32: derive at the float32 point so both sides see the same inputs.
      for (const k of Object.keys(point)) point[k] = Math.fround(point[k]!);
      const chain = chainRule(p.expr, point);
      const webgrad = await webgradGrads(p, point);
      if (mine !== this.started) return;
      s.chain = chain;
      s.webgrad = webgrad;
      this.render(p, chain, webgrad);
      say(this.errorEl, null);
      s.status = 'ok';
    } catch (e) {
      if (mine !== this.started) return;
      say(this.errorEl, e instanceof Error ? e.message : String(e));
      s.status = 'error';
    }
    s.run++;
    this.section.dataset.state = s.status;
    this.section.dataset.run = String(s.run);
  }

  private render(p: Parsed, chain: Chain, webgrad: Record<string, number>): void {
    showFormula(this.texEl, p.node, 'f = ', true);
    this.body.innerHTML = '';
    for (const n of chain.nodes) {
      const row = this.body.insertRow();
      row.className = n.op === 'var' ? 'input' : n.name === 'f' ? 'output' : '';
      cell(row, n.name, 'mono');
      cell(row, n.op === 'var' ? 'input' : `${n.name} = ${n.definition}`, 'mono');
      cell(row, num(n.value), 'num mono');
      const locals = cell(row, '', 'mono');
      for (const i of n.inputs) {
        if (i.node === null) continue;
        const line = document.createElement('div');
        const value = i.localText === num(i.local) ? '' : ` = ${num(i.local)}`;
        line.textContent = `∂${n.name}/∂${i.label} = ${i.localText}${value}`;
        locals.append(line);
      }
      cell(row, `df/d${n.name} = ${n.adjointText}`, 'mono');
      cell(row, num(n.adjoint), 'num mono');
    }
    this.check.innerHTML = '';
    let allOk = true;
    const vars = p.vars.length ? p.vars : [];
    for (const v of vars) {
      const want = chain.grads[v] ?? 0;
      const got = webgrad[v]!;
      const ok = agrees(got, want, chain.nodes.length);
      allOk &&= ok;
      const row = this.check.insertRow();
      row.dataset.ok = String(ok);
      cell(row, `df/d${v}`, 'mono');
      cell(row, num(want), 'num mono');
      cell(row, num(got), 'num mono');
      cell(row, `${ok ? '✓' : '✗'} ${howClose(got, want)}`, ok ? 'ok' : 'bad');
    }
    if (vars.length === 0) {
      const row = this.check.insertRow();
      cell(row, 'f is a constant: there is nothing to differentiate.').colSpan = 4;
    }
    this.state.ok = allOk;
  }
}
