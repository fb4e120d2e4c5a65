/** The shaders/ templates and the text helpers that fill them. */
import type { BindingKind } from './program.js';
import { shaders } from './shaders.gen.js';

/** `template` with every `{{slot}}` replaced by its value (an unknown slot is an internal error). */
export function fill(template: string, slots: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const s = slots[name];
    if (s === undefined) throw new Error(`internal: WGSL template slot {{${name}}} has no value`);
    return s;
  });
}

/** The text of shaders/`name`.wgsl. */
export function template(name: string): string {
  const t = shaders[name];
  if (t === undefined) throw new Error(`internal: shaders/${name}.wgsl is missing from the embedded shaders`);
  return t;
}

/** The declaration of a storage binding of f32s. */
export const declare = (binding: number, name: string, kind: BindingKind): string =>
  `@group(0) @binding(${binding}) var<storage, ${kind === 'read' ? 'read' : 'read_write'}> ${name}: array<f32>;`;

/** Lines joined for a template slot indented by `pad`. */
export const indent = (lines: readonly string[], pad: string): string => lines.join(`\n${pad}`);
