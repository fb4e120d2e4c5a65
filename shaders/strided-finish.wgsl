// Second pass of a sliced sum along axes (strided.wgsl with several slices per element): each
// invocation adds up the slices of one element of every summed output (compensated, so long sums keep
// float32 accuracy) and stores it; the slices of an amax or amin are folded by generated code instead.

{{prelude}}

struct Params {
  m: u32,      // elements of each summed output
  slices: u32, // slices per element, over all chunks
  grid_x: u32, // workgroups per row of the dispatch grid
  opaque: u32, // always 0 (see wg_keep in the prelude)
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
{{bindings}}

const WG: u32 = 256u;

// The sum of the slices of element o of summed output q.
fn total(q: u32, o: u32) -> f32 {
  var acc = vec2<f32>(0.0, 0.0);
  let base = q * P.m * P.slices + o;
  for (var j = 0u; j < P.slices; j++) {
    acc = wg__sum_add(acc, partials[base + j * P.m], P.opaque);
  }
  return wg__sum_total(acc);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let o = (wid.y * P.grid_x + wid.x) * WG + lid;
  if (o >= P.m) {
    return;
  }
  {{store}}
}
