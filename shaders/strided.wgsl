// Sum along axes (a broadcast operand's gradient): each invocation owns one element of the summed
// outputs and loops over the points that fold into it, computing the fused values at each. Chunked
// runs call it once per chunk; later chunks add to what earlier ones stored.

{{prelude}}

struct Params {
  n: u32,      // points in this chunk
  start: u32,  // flat index of the chunk's first point
  grid_x: u32, // workgroups per row of the dispatch grid
  m: u32,      // elements of each summed output
  r: u32,      // points folded into each element
  first: u32,  // 1 in the first chunk (store), 0 after (accumulate)
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
  let o = (wid.y * P.grid_x + wid.x) * WG + lid;
  if (o >= P.m) {
    return;
  }
  var base = 0u;
  {{base}}
  {{accumulators}}
  for (var k = 0u; k < P.r; k++) {
    var i = base;
    {{point}}
    if (i < P.start || i - P.start >= P.n) {
      continue;
    }
    let p = i - P.start;
    {{body}}
  }
  if (P.first == 1u) {
    {{store}}
  } else {
    {{accumulate}}
  }
}
