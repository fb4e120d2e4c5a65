// Sum along axes (a broadcast operand's gradient): each invocation owns one element of the summed outputs
// and a slice of the points that fold into it, computing the fused values at each. With one slice per
// element it stores the element (or, in later chunks, adds to it). When the result has few elements and
// many points fold into each (a per-feature parameter's gradient over a batch), the points are split
// into several slices so that a GPU has work for many invocations: each stores its partial sum, and a
// second pass (strided-finish.wgsl) adds an element's slices. amax and amin (largest, smallest) go the same
// way, folding by maximum or minimum instead of adding.

{{prelude}}

struct Params {
  n: u32,           // points in this chunk
  start: u32,       // flat index of the chunk's first point
  grid_x: u32,      // workgroups per row of the dispatch grid
  m: u32,           // elements of each summed output
  r: u32,           // points folded into each element
  len: u32,         // points per slice
  slices: u32,      // slices per element in this dispatch
  slice_base: u32,  // this chunk's first slice among all partials
  part_stride: u32, // partials per summed output
  first: u32,       // 1 in the first chunk (store), 0 after (accumulate); one slice only
  opaque: u32,      // always 0 (see wg_keep in the prelude)
  pad1: u32,
  terms: array<vec4<u32>, {{terms}}>, // (inner, dim, stride) per term
  c: array<vec4<f32>, {{consts}}>, // the kernel's constants (uniforms, so that new numbers reuse the pipeline)
}

@group(0) @binding(0) var<uniform> P: Params;
{{bindings}}

const WG: u32 = 256u;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = (wid.y * P.grid_x + wid.x) * WG + lid;
  if (t >= P.m * P.slices) {
    return;
  }
  // Consecutive invocations take consecutive elements of one slice.
  let o = t % P.m;
  let s = t / P.m;
  {{invariant}}
  var base = 0u;
  {{base}}
  {{accumulators}}
  let k0 = s * P.len;
  let k1 = min(P.r, k0 + P.len);
  // The folded terms at k0, stepped along with k (no integer division per point).
  {{start}}
  for (var k = k0; k < k1; k++) {
    var i = base;
    {{point}}
    if (i < P.start || i - P.start >= P.n) {
      continue;
    }
    let p = i - P.start;
    {{body}}
  }
  {{finish}}
}
