// One fused kernel: each invocation computes every value and gradient at its points of the domain,
// stores the per-point outputs, and adds its share of each summed output to a partial (one per
// workgroup, or one per invocation where barriers are expensive).
// Sizes and offsets are uniforms, so the same kernel over a different N reuses the same pipeline.

{{prelude}}

struct Params {
  n: u32,           // points in this chunk
  start: u32,       // flat index of the chunk's first point
  grid_x: u32,      // workgroups per row of the dispatch grid (2-D beyond the per-dimension limit)
  part_base: u32,   // this chunk's first workgroup among all partials of the kernel
  part_stride: u32, // partials per summed output
  opaque: u32,      // always 0 (see wg_keep in the prelude)
  pad1: u32,
  pad2: u32,
  terms: array<vec4<u32>, {{terms}}>, // broadcast indexing: (inner, dim, stride) per term
  c: array<vec4<f32>, {{consts}}>, // the kernel's constants (uniforms, so that new numbers reuse the pipeline)
}

@group(0) @binding(0) var<uniform> P: Params;
{{bindings}}

const WG: u32 = 256u;
// Points per invocation: 1 on a GPU; several where the kernel has sums (fewer partials to add up) or on
// a CPU implementation of WebGPU (fewer workgroups, each of which costs a fixed scheduling overhead there).
const PTS: u32 = {{points}};
{{shared}}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let wg = wid.y * P.grid_x + wid.x;
  // The workgroup's first point (in this chunk).
  let first = wg * PTS * WG;
  // Values the same at every point (constants, scalar operands), read and computed once.
  {{invariant}}
  {{accumulators}}
  // Rounds of WG points in this workgroup: PTS, fewer in the last one. A CPU implementation of WebGPU
  // runs a loop body while any lane goes on, the others masked, so a bound of PTS alone would compute
  // every round (at 2^10 points, 32 rounds where 4 have points); this one is the same in every invocation.
  let rounds = select(0u, min(PTS, (P.n - first + WG - 1u) / WG), first < P.n);
  // Consecutive invocations take consecutive points (coalesced loads and stores).
  for (var j = 0u; j < rounds; j++) {
    let p = first + j * WG + lid;
    if (p < P.n) {
      let i = P.start + p;
      {{body}}
    }
    // The next point is WG further on: broadcast index terms step along (see steppedTerms in values.ts).
    {{advance}}
  }
  {{reduce}}
  {{report}}
}
