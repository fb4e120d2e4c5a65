// Second pass of a fused kernel's scalar reductions: one workgroup adds up the per-workgroup partials of
// every summed output (compensated, so long sums keep float32 accuracy), or takes their largest or
// smallest (amax, amin), and stores each total. The workgroup is WG wide: 256 on a GPU; on a CPU
// implementation of WebGPU the width of its vector unit, since there each barrier switches between every
// group of lanes (a 256-wide tree cost ~0.4 ms per total). A kernel over the totals alone (a scalar loss
// and gradients derived from the sums) runs here too, on one invocation, instead of in a dispatch of its
// own.

{{prelude}}

struct Params {
  count: u32, // partials per summed output
  opaque: u32,      // always 0 (see wg_keep in the prelude)
  base: u32,        // the slot (among the kernel's sums) of this pass's first total
  pad2: u32,
  c: array<vec4<f32>, {{consts}}>, // the kernel's constants (uniforms, so that new numbers reuse the pipeline)
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
{{bindings}}

const WG: u32 = {{wg}}u;
var<workgroup> sh: array<vec2<f32>, WG>;

// The sum of partials[base .. base + count), the same in every invocation of the workgroup.
fn total(base: u32, lid: u32) -> f32 {
  var acc = vec2<f32>(0.0, 0.0);
  for (var t = lid; t < P.count; t += WG) {
    acc = wg__sum_add(acc, partials[base + t], P.opaque);
  }
  sh[lid] = acc;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    if (lid < h) {
      sh[lid] = wg__sum_merge(sh[lid], sh[lid + h], P.opaque);
    }
    workgroupBarrier();
  }
  let r = wg__sum_total(sh[0]);
  workgroupBarrier();
  return r;
}

// The largest or smallest of partials[base .. base + count) (amax, amin), as `total` does it.
{{folds}}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  {{totals}}
  if (lid == 0u) {
    {{body}}
  }
}
