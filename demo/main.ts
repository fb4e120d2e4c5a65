/** The demo page: backend choice, the notebook's exercises, the playground and the chain rule view. */
import { init, stats, type InitInfo, type Stats } from '../src/index.js';
import { ChainView, type ChainState } from './chainview.js';
import { byId, diffText, num, renderTex, say } from './format.js';
import { EXERCISES, exerciseTex, runExercise, type ExerciseResult } from './notebook.js';
import { Playground, type PlaygroundState } from './playground.js';
import './style.css';

/** What the page computed, on `window.webgradDemo`, for tests and for the console. */
export interface DemoState {
  backend: InitInfo | null;
  notebook: { state: 'idle' | 'running' | 'done'; results: ExerciseResult[] };
  playground: PlaygroundState;
  chain: ChainState;
  /** webgrad's counters (see stats()): what ran where, how often. */
  stats: () => Stats;
}

declare global {
  interface Window {
    webgradDemo: DemoState;
  }
}

const badge = byId('backend-badge');
const toggle = byId<HTMLButtonElement>('backend-toggle');
const backendError = byId('backend-error');

/** The adapter's name from what init() reported. */
function adapterName(info: InitInfo): string {
  const a = info.adapter;
  const parts = a ? [a.vendor, a.architecture, a.description].filter((s) => s && s.trim()) : [];
  return parts.length ? parts.join(' · ') : 'unnamed adapter';
}

function showBackend(info: InitInfo): void {
  badge.dataset.backend = info.backend;
  if (info.backend === 'webgpu') {
    badge.textContent = `WebGPU · ${adapterName(info)}`;
    badge.title = 'Kernels run as WGSL compute shaders on this adapter.';
    toggle.textContent = 'Run on CPU';
  } else {
    badge.textContent = info.fallbackReason ? `CPU · ${info.fallbackReason}` : 'CPU';
    badge.title = info.fallbackReason
      ? `WebGPU is not used: ${info.fallbackReason}`
      : 'Kernels run as generated JavaScript loops.';
    toggle.textContent = 'Run on WebGPU';
  }
}

/** Builds the notebook table once; each run fills in the numbers. */
function notebookTable(): HTMLTableRowElement[] {
  const body = byId<HTMLTableElement>('notebook-table').tBodies[0]!;
  return EXERCISES.map((ex) => {
    const row = body.insertRow();
    const cells = Array.from({ length: 8 }, () => row.insertCell());
    cells[0]!.textContent = ex.title;
    renderTex(cells[1]!, exerciseTex(ex), false);
    cells[1]!.className = 'fn';
    cells[2]!.textContent = Object.entries(ex.point)
      .map(([k, v]) => `${k} = ${v}`)
      .join(', ');
    cells[3]!.textContent = ex.wrt;
    for (const i of [2, 3]) cells[i]!.className = 'mono nowrap';
    for (const i of [4, 5, 6]) cells[i]!.className = 'num';
    // Value cells: the number on top, how it was obtained underneath.
    cells[5]!.innerHTML = '<div class="mono value"></div><div class="how mono"></div>';
    cells[5]!.querySelector('.how')!.textContent = ex.formulaText;
    cells[6]!.innerHTML = '<div class="mono value"></div><div class="how tex-small"></div>';
    return row;
  });
}

const rows = notebookTable();
const notebookSection = byId('notebook');
const summary = byId('notebook-summary');

/** Runs every exercise on the active backend and fills the table. */
async function runNotebook(): Promise<void> {
  const st = window.webgradDemo.notebook;
  st.state = 'running';
  notebookSection.dataset.state = 'running';
  st.results = [];
  let passed = 0;
  for (const [i, ex] of EXERCISES.entries()) {
    const r = await runExercise(ex);
    st.results.push(r);
    const c = rows[i]!.cells;
    c[4]!.textContent = r.error ? `error: ${r.error}` : num(r.autograd);
    c[4]!.className = r.error ? 'bad' : 'num mono';
    c[5]!.querySelector('.value')!.textContent = num(r.analytical);
    c[6]!.querySelector('.value')!.textContent = num(r.symbolic);
    renderTex(c[6]!.querySelector<HTMLElement>('.how')!, r.symbolicTex, false);
    c[7]!.textContent = `${r.ok ? '✓' : '✗'} Δ = ${diffText(r.diff)}`;
    c[7]!.className = `nowrap ${r.ok ? 'ok' : 'bad'}`;
    rows[i]!.dataset.ok = String(r.ok);
    if (r.ok) passed++;
  }
  summary.textContent = `${passed} of ${EXERCISES.length} agree on ${badge.dataset.backend === 'webgpu' ? 'WebGPU' : 'CPU'}`;
  summary.className = `summary ${passed === EXERCISES.length ? 'ok' : 'bad'}`;
  st.state = 'done';
  notebookSection.dataset.state = 'done';
  notebookSection.dataset.backend = badge.dataset.backend ?? '';
}

const playground = new Playground();
const chain = new ChainView();
playground.onFormula = (p) => void chain.show(p);

window.webgradDemo = {
  backend: null,
  notebook: { state: 'idle', results: [] },
  playground: playground.state,
  chain: chain.state,
  stats,
};

/** Recomputes everything on the backend just chosen. */
async function rerun(): Promise<void> {
  await runNotebook();
  await playground.run();
}

// The notebook's single points run on the GPU too when WebGPU is chosen: the page shows the backends,
// so it does not hand small work to the CPU as the library does by default.
const ON_GPU = { cpuBelow: 0 };

async function start(): Promise<void> {
  let info: InitInfo;
  try {
    info = await init({ backend: 'auto', webgpu: ON_GPU });
  } catch (e) {
    say(
      backendError,
      `Could not start webgrad: ${e instanceof Error ? e.message : String(e)}; using the CPU.`,
    );
    info = await init({ backend: 'cpu' });
  }
  window.webgradDemo.backend = info;
  showBackend(info);
  toggle.addEventListener('click', () => void switchBackend());
  await rerun();
  toggle.disabled = false;
}

async function switchBackend(): Promise<void> {
  const current = window.webgradDemo.backend?.backend ?? 'cpu';
  const next = current === 'webgpu' ? 'cpu' : 'webgpu';
  toggle.disabled = true;
  try {
    const info = await init({ backend: next, webgpu: ON_GPU });
    window.webgradDemo.backend = info;
    showBackend(info);
    say(backendError, null);
    await rerun();
  } catch (e) {
    say(backendError, e instanceof Error ? e.message : String(e));
  } finally {
    toggle.disabled = false;
  }
}

void start();
