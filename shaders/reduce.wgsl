// Second pass of a fused kernel's sums: one workgroup adds up the per-workgroup partials of every
// summed output (compensated, so long sums keep float32 accuracy) and stores each total. The workgroup
// is WG wide: 256 on a GPU; on a CPU implementation of WebGPU the width of its vector unit, since there
// each barrier switches between every group of lanes (a 256-wide tree cost ~0.4 ms per total). A kernel
// over the totals alone (a scalar loss and gradients derived from the sums) runs here too, on one
// invocation, instead of in a dispatch of its own.

{{prelude}}

struct Params {
  count: u32, // partials per summed output
  opaque: u32,      // always 0 (see wg_keep in the prelude)
  pad1: u32,
  pad2: u32,
  c: array<vec4<f32>, {{consts}}>, // the kernel's constants (uniforms, so that new numbers reuse the pipeline)
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
{{bindings}}

const WG: u32 = {{wg}}u;
var<workgroup> sh: array<f32, WG>;

// The sum of partials[base .. base + count), the same in every invocation of the workgroup.
fn total(base: u32, lid: u32) -> f32 {
  var s = 0.0;
  var c = 0.0;
  for (var t = lid; t < P.count; t += WG) {
    let y = partials[base + t] - c;
    let u = s + y;
    // Where the sum is infinite or NaN it stands as IEEE addition makes it, with no error term: (u - s) - y
    // would be Inf - Inf = NaN there, turning a sum of +Inf terms into NaN (checked on the bits, as a
    // compiler may assume that no value is infinite).
    c = select((u - s) - y, 0.0, (bitcast<u32>(u) & 0x7fffffffu) >= 0x7f800000u);
    s = u;
  }
  sh[lid] = s;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    if (lid < h) {
      sh[lid] += sh[lid + h];
    }
    workgroupBarrier();
  }
  let r = sh[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  {{totals}}
  if (lid == 0u) {
    {{body}}
  }
}
