// Helper functions that the op table's WGSL templates call (src/ops/table.ts). Every `wg_*` function is
// the float32 version of its row's `cpu` formula, special values included.
//
// Why not the builtins: WGSL lets implementations evaluate sin/cos/tan/log with absolute errors of
// 1e-4 and more, exp(NaN) may come back +Inf, and a compiler may assume that NaN and Inf never occur
// (folding `x != x` to false). So the transcendental functions are written out here with range
// reduction and polynomials, NaN/Inf are tested through their bit patterns, and NaN/Inf are produced
// from bit patterns at run time (a float literal outside the f32 range does not compile).
//
// Some functions carry a low-order correction term (a "double-float" pair hi + lo); that relies on
// additions and multiplications being evaluated as written. Compilers fuse a product into a later
// addition (an NVIDIA driver does) and fold a + b - a into b: the sums and products whose rounding error
// is recovered pass through wg__kept, which they cannot see through.
//
// Accuracy figures are worst cases measured on SwiftShader against float64 (test/webgpu/prelude.test.ts):
// ulp = units in the last place of the float32-rounded exact result.

// ---------------------------------------------------------------------------------------------------
// Bits and constants

// Compared as signed integers (both sides are positive): a CPU's vector unit has signed comparisons only.
fn wg__isnan(x: f32) -> bool {
  return (bitcast<i32>(x) & 0x7fffffff) > 0x7f800000;
}

fn wg__isinf(x: f32) -> bool {
  return (bitcast<i32>(x) & 0x7fffffff) == 0x7f800000;
}

// NaN or ±Inf.
fn wg__nonfinite(x: f32) -> bool {
  return (bitcast<i32>(x) & 0x7fffffff) >= 0x7f800000;
}

// Through a `let`, so that the bit pattern is converted at run time rather than folded as a constant.
fn wg__nan() -> f32 {
  let bits = 0x7fc00000u;
  return bitcast<f32>(bits);
}

fn wg__inf() -> f32 {
  let bits = 0x7f800000u;
  return bitcast<f32>(bits);
}

// |x| with the sign bit of s.
fn wg__copysign(x: f32, s: f32) -> f32 {
  return bitcast<f32>((bitcast<u32>(x) & 0x7fffffffu) | (bitcast<u32>(s) & 0x80000000u));
}

// ln 2 as a 16-bit head (k * LN2_H is exact for |k| < 256) and the rest.
const wg__ln2_h: f32 = 0.693145751953125;
const wg__ln2_l: f32 = 0.6931471805599453 - 0.693145751953125;
const wg__log2e: f32 = 1.4426950408889634;

// Rounding to an integer without WGSL's float-to-integer conversions, which saturate and cost a CPU
// implementation of WebGPU more than a whole polynomial: for |v| < 2^22, v + 1.5 * 2^23 is a float of
// exponent 23 whose low bits hold round(v) + 2^22, so its bits minus those of 1.5 * 2^23 are round(v).
// The integer comes from the bits, never from (v + c) - c, which a compiler may fold to v. Integer
// arithmetic on values that may be meaningless (arguments out of range) is done on u32, which wraps
// in every shading language, where a signed overflow may not.
const wg__round_shift: f32 = 12582912.0;
const wg__round_shift_bits: u32 = 0x4b400000u;

// round(v) (ties either way) for |v| < 2^22 (see wg__round_shift); meaningless beyond.
fn wg__round_i32(v: f32) -> i32 {
  return bitcast<i32>(bitcast<u32>(v + wg__round_shift) - wg__round_shift_bits);
}

// x, through an XOR with `zero`, a uniform that is always 0: the generated kernels pass every computed
// value through it, since the compiler cannot see through it. WGSL lets compilers assume finite math and
// rearrange it, and some do (SwiftShader turns (x - c) + c into x and (a * b) / b into a), which would
// lose the NaN of c = NaN or of 0 / 0 and the rounding the formulas were written for.
fn wg_keep(x: f32, zero: u32) -> f32 {
  return bitcast<f32>(bitcast<u32>(x) ^ zero);
}

// The same 0 for the prelude's own functions: every generated kernel that computes values sets it from its
// uniform `opaque` before computing them (a kernel that does not leaves it at 0, which the compiler then
// knows: the passes that only add up partials call no function that needs it).
var<private> wg__opaque: u32;

// x, through wg_keep with wg__opaque.
fn wg__kept(x: f32) -> f32 {
  return wg_keep(x, wg__opaque);
}

// ---------------------------------------------------------------------------------------------------
// Error-free transformations: a pair (hi, lo) stands for the unevaluated sum hi + lo.

// The leading 12 significant bits of a: products of two heads are exact in f32.
fn wg__head(a: f32) -> f32 {
  return bitcast<f32>(bitcast<u32>(a) & 0xfffff000u);
}

// a * b = p + e exactly (Dekker), for finite products that do not underflow. Below 2^-100 the split
// halves and partial products may be subnormal, which a device may flush to zero, turning e into
// garbage as large as p * 2^-12: there e is taken as 0 (p alone is the correctly rounded product).
// p is kept: fused into `ah * bh - p` (or into a caller's `x - p`) its rounding would be gone from e.
fn wg__two_prod(a: f32, b: f32) -> vec2<f32> {
  let p = wg__kept(a * b);
  let ah = wg__head(a);
  let al = a - ah;
  let bh = wg__head(b);
  let bl = b - bh;
  let e = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
  // Three comparisons rather than min(): min() is NaN-aware and costly on a CPU's vector unit.
  let tiny = (abs(a) < 0x1p-100f) | (abs(b) < 0x1p-100f) | (abs(p) < 0x1p-100f);
  return vec2<f32>(p, select(e, 0.0, tiny));
}

// a + b = s + e exactly (Dekker), for finite a and b with |a| >= |b| (or a = 0): a pair renormalised.
// s is kept, so that (a + b) - a does not fold to b.
fn wg__fast_two_sum(a: f32, b: f32) -> vec2<f32> {
  let s = wg__kept(a + b);
  return vec2<f32>(s, b - (s - a));
}

// a + b = s + e exactly (Knuth), for any finite a and b.
// s and bb are kept: (a + b) - a would fold to b, and s - (s - a) to a, losing the error.
fn wg__two_sum(a: f32, b: f32) -> vec2<f32> {
  let s = wg__kept(a + b);
  let bb = wg__kept(s - a);
  return vec2<f32>(s, (a - (s - bb)) + (b - bb));
}

// A compensated running sum (Neumaier): acc.x the sum so far, acc.y the rounding errors of its additions.
// Returns it with y added. The error of each addition is formed with the larger operand first, so that
// terms cancelling later keep the small ones (Kahan's form loses them: 1e8, 1, -1e8, 1 gives 1) and no
// error term overflows where the sum does not. The new sum passes through wg_keep so that a compiler cannot
// fold the error terms to 0. Where the sum is infinite or NaN it stands as IEEE addition makes it, with no
// error term (that would be Inf - Inf = NaN).
fn wg__sum_add(acc: vec2<f32>, y: f32, zero: u32) -> vec2<f32> {
  let u = wg_keep(acc.x + y, zero);
  let d = select((y - u) + acc.x, (acc.x - u) + y, abs(acc.x) >= abs(y));
  return vec2<f32>(u, select(acc.y + d, acc.y, wg__nonfinite(u)));
}

// Two compensated running sums as one (see wg__sum_add).
fn wg__sum_merge(a: vec2<f32>, b: vec2<f32>, zero: u32) -> vec2<f32> {
  let r = wg__sum_add(a, b.x, zero);
  return vec2<f32>(r.x, r.y + b.y);
}

// The total of a compensated running sum (see wg__sum_add).
fn wg__sum_total(acc: vec2<f32>) -> f32 {
  return select(acc.x + acc.y, acc.x, wg__nonfinite(acc.x));
}

// ---------------------------------------------------------------------------------------------------
// exp

// e^(zh + zl) 2^s for |zl| << |zh| (zh not NaN) and a small integer s (a constant at each call, which the
// compiler folds): 4e^z or e^z / 2 with one rounding, where adding ln 4 or -ln 2 to z would need a pair.
// Method: k = round(zh / ln 2), Cody-Waite r = zh - k ln2_h - k ln2_l + zl in [-0.35, 0.35], degree-7
// Taylor polynomial for e^r (truncation 5e-9 relative), times 2^(k + s) applied as two factors so that
// overflow gives +Inf and tiny results round gradually to 0. Where zh + s ln 2 is outside [-104, 89]
// (k + s from -150 to 128) the steps above are meaningless and the result is 0 or +Inf, chosen at the end
// (no clamp: a CPU's vector unit pays for its NaN rules).
fn wg__exp_df(zh: f32, zl: f32, s: i32) -> f32 {
  let ki = wg__round_i32(zh * wg__log2e);
  let k = f32(ki);
  let r = ((zh - k * wg__ln2_h) - k * wg__ln2_l) + zl;
  let q = r * r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0))))));
  let e = 1.0 + (r + q);
  // 2^k1 2^k2 made in the exponent field; multiplied by 2^23 rather than shifted, as a CPU implementation
  // may shift lane by lane.
  // k + s on u32, which wraps where zh is out of range (see wg__round_shift).
  let kt = bitcast<u32>(ki) + bitcast<u32>(s);
  let k1 = bitcast<u32>(wg__round_i32(f32(bitcast<i32>(kt)) * 0.5));
  let k2 = kt - k1;
  let v = e * bitcast<f32>((k1 + 127u) * 0x800000u) * bitcast<f32>((k2 + 127u) * 0x800000u);
  let shift = f32(s) * (wg__ln2_h + wg__ln2_l);
  return select(select(v, 0.0, zh < -104.0 - shift), wg__inf(), zh > 89.0 - shift);
}

// e^x; overflow gives +Inf, exp(-Inf) = 0, NaN stays NaN. Measured: 1 ulp.
fn wg_exp(x: f32) -> f32 {
  return select(wg__exp_df(x, 0.0, 0), x, wg__isnan(x));
}

// 2^x as e^(x ln 2), x times ln 2's head formed exactly (wg__two_prod) so that its rounding does not scale
// the result: exact at integers, overflow gives +Inf, exp2(-Inf) = 0, NaN stays NaN (the error term is NaN
// at ±Inf, where wg__exp_df picks 0 or +Inf from the product alone). Measured: 1.2 ulp.
fn wg_exp2(x: f32) -> f32 {
  let p = wg__two_prod(x, wg__ln2_h);
  return select(wg__exp_df(p.x, p.y + x * wg__ln2_l, 0), x, wg__isnan(x));
}

// ---------------------------------------------------------------------------------------------------
// log

// ln(x) = hi + lo (a pair accurate to about 2^-33 relative) for positive finite x, subnormals included.
// Method: x = 2^n m with m in [sqrt(1/2), sqrt(2)); ln m = 2 atanh(s) with s = (m - 1)/(m + 1),
// |s| <= 0.172, carried as s0 + s1 (s1 from the exact residual of the division); the odd series of
// atanh up to s^11 (truncation 2e-11 relative); n ln 2 from a 16-bit head, added exactly. The series' first
// term, 2 s0^3 / 3, up to 1% of ln m, is formed and added as pairs: rounded as a float32 (several roundings
// of 2^-24 each), it put errors of 2e-9 into ln m near m = sqrt(2), which pow's exponent b ln x multiplies
// by up to 254 (pow(1.396, 256.75) was 5 ulp off). The pair comes out renormalised (the low part within half
// an ulp of the high one), as wg__exp_df takes its reduction and range from the high part alone.
fn wg__ln_df(x: f32) -> vec2<f32> {
  // Subnormals are scaled into the normal range first.
  let sub = x < 1.17549435e-38;
  let v = select(x, x * 8388608.0, sub);
  let bits = bitcast<i32>(v);
  let m0 = (bits & 0x007fffff) | 0x3f800000;
  let up = m0 > 0x3fb504f3;
  // n from the exponent field, a multiple of 2^23 that converts to f32 exactly (no shift: see wg__exp_df).
  let nf = f32(bits & 0x7f800000) * 0x1p-23f - select(127.0, 150.0, sub) + select(0.0, 1.0, up);
  let m = bitcast<f32>(select(m0, m0 - 0x00800000, up));
  let u = m - 1.0;
  let t = wg__two_sum(m, 1.0);
  let s0 = u / t.x;
  let p = wg__two_prod(s0, t.x);
  let s1 = (((u - p.x) - p.y) - s0 * t.y) / t.x;
  let w = 2.0 * s0;
  // w s0^2 exactly as q.x + q.y + w zz.y (to its last product's rounding), then its third.
  let zz = wg__two_prod(s0, s0);
  let q = wg__two_prod(w, zz.x);
  let c = wg__two_prod(q.x, 0.3333333432674408);
  let z = zz.x;
  let rest = z * (1.0 / 5.0 + z * (1.0 / 7.0 + z * (1.0 / 9.0 + z * (1.0 / 11.0))));
  let small = (c.y + q.x * -9.934107481068821e-09) + ((q.y + w * zz.y) * (1.0 / 3.0) + q.x * rest);
  let hi = wg__two_sum(nf * wg__ln2_h, w);
  let h2 = wg__two_sum(hi.x, c.x);
  // s1 enters through the series' derivative, 2 / (1 - s^2): 2 s1 alone left out 2 s1 s^2, 6e-10 of ln m.
  return wg__two_sum(h2.x, (h2.y + hi.y) + (nf * wg__ln2_l + (2.0 * s1 * (1.0 + z) + small)));
}

// ln(x) for positive finite x, subnormals included, in float32 alone (wg__ln_df's pair costs twice as
// much, and only pow needs it). Method (that of FreeBSD's logf): x = 2^k m with m in [sqrt(1/2), sqrt(2)),
// f = m - 1, s = f / (2 + f); ln m = f - f^2/2 + s (f^2/2 + R(s^2)), R a degree-4 fit in s^2 (2^-34
// relative), so that the large terms f and k ln 2 are added last and exactly formed (k ln2_h is exact).
fn wg__ln(x: f32) -> f32 {
  // Subnormals are scaled into the normal range first.
  let sub = x < 1.17549435e-38;
  let v = select(x, x * 33554432.0, sub);
  // Adding 1 - sqrt(1/2) to the significand carries into the exponent exactly when m >= sqrt(2), so that
  // the exponent field gives k, and the significand put back over sqrt(1/2) gives m.
  let ix = bitcast<i32>(v) + (0x3f800000 - 0x3f3504f3);
  // k from the exponent field, a multiple of 2^23 that converts to f32 exactly (no shift: see wg__exp_df).
  let k = f32(ix & 0x7f800000) * 0x1p-23f - select(127.0, 152.0, sub);
  let f = bitcast<f32>((ix & 0x007fffff) + 0x3f3504f3) - 1.0;
  let s = f / (2.0 + f);
  let z = s * s;
  let w = z * z;
  let r = z * (0x1.555554p-1f + w * 0x1.23d3dcp-2f) + w * (0x1.999c26p-2f + w * 0x1.f13c4cp-3f);
  let hfsq = 0.5 * f * f;
  return (((s * (hfsq + r) + k * wg__ln2_l) - hfsq) + f) + k * wg__ln2_h;
}

// Natural logarithm: log(±0) = -Inf, log(x < 0) = NaN, log(+Inf) = +Inf, NaN stays NaN.
// Measured: 1 ulp.
fn wg_log(x: f32) -> f32 {
  let finite = (x > 0.0) & !wg__isinf(x);
  var r = select(x, wg__ln(select(1.0, x, finite)), finite);
  r = select(r, wg__nan(), x < 0.0);
  return select(r, -wg__inf(), x == 0.0);
}

// ln(x) / ln(b), with 1 / ln(b) given as a head and a tail, and the special values of wg_log. For positive
// finite x, wg__ln_df's pair times 1 / ln(b), formed exactly (wg__two_prod), is within about 2^-30 of the
// result, so that results that are floats (log2(8) = 3, log10(1000) = 3) come out exact.
fn wg__log_base(x: f32, inv_h: f32, inv_l: f32) -> f32 {
  let finite = (x > 0.0) & !wg__isinf(x);
  let l = wg__ln_df(select(1.0, x, finite));
  let p = wg__two_prod(l.x, inv_h);
  var r = select(x, p.x + (p.y + (l.x * inv_l + l.y * inv_h)), finite);
  r = select(r, wg__nan(), x < 0.0);
  return select(r, -wg__inf(), x == 0.0);
}

// log2 and log10 (see wg__log_base). Measured: 0.6 ulp.
fn wg_log2(x: f32) -> f32 {
  return wg__log_base(x, 1.44269502162933349609375, 1.4426950408889634 - 1.44269502162933349609375);
}

fn wg_log10(x: f32) -> f32 {
  return wg__log_base(x, 0.4342944920063019, 0.4342944819032518 - 0.4342944920063019);
}

// ---------------------------------------------------------------------------------------------------
// log1p, expm1

// log(1 + x). Where 1 + x lies in [sqrt(1/2), sqrt(2)], 2 atanh(s) with s = x / (2 + x) (|s| <= 0.172),
// a series to s^11 (truncation 1e-11): no 1 + x is formed, whose rounding would swamp a small result.
// Elsewhere log(1 + x), whose rounding costs at most 3 ulp of a result at least 0.34 in size. Below
// 2^-25 in size, x itself (keeping -0). log1p(-1) = -Inf, below -1 NaN, +Inf stays, NaN stays. Measured:
// 3 ulp.
fn wg_log1p(x: f32) -> f32 {
  let s = x / (2.0 + x);
  let z = s * s;
  let series = 2.0 * s * (1.0 + z * (1.0 / 3.0 + z * (1.0 / 5.0 + z * (1.0 / 7.0 + z * (1.0 / 9.0 + z * (1.0 / 11.0))))));
  let near = (x > -0.29289323) & (x < 0.41421357);
  return select(select(wg_log(1.0 + x), series, near), x, abs(x) < 0x1p-25f);
}

// e^x - 1. For |x| < 0.35, Taylor to x^8 (truncation 1e-9 relative); beyond, e^x - 1, which cancels at
// most a factor 3.4 (4 ulp). Below 2^-25 in size, x itself (keeping -0); expm1(-Inf) = -1, overflow gives
// +Inf, NaN stays (through wg_exp). Measured: 4 ulp.
fn wg_expm1(x: f32) -> f32 {
  let taylor = x + x * x * (0.5 + x * (1.0 / 6.0 + x * (1.0 / 24.0 + x * (1.0 / 120.0 + x * (1.0 / 720.0 + x * (1.0 / 5040.0 + x * (1.0 / 40320.0)))))));
  return select(select(wg_exp(x) - 1.0, taylor, abs(x) < 0.35), x, abs(x) < 0x1p-25f);
}

// ---------------------------------------------------------------------------------------------------
// erf

// Error function. |x| <= 1: x P(x^2), P a degree-5 least-squares minimax fit for relative error (5e-8 with
// float32 coefficients). 1 < |x| <= 4: 1 - e^-x^2 R(1/x), R a degree-8 fit of erfc(x) e^x^2 for relative
// error (2e-8 in erf). Beyond 4, erfc(x) < 2e-8 and erf rounds to ±1. erf(-0) = -0, NaN stays NaN.
// Measured: 2.4 ulp.
fn wg_erf(x: f32) -> f32 {
  let ax = abs(x);
  let z = x * x;
  let small = x * (1.1283791 + z * (-0.37612325 + z * (0.1128018 + z * (-0.026711311 + z * (0.0049175508 + z * -0.00056314200)))));
  let t = 1.0 / select(ax, 1.0, ax <= 1.0);
  let r = 0.00025309544 + t * (0.5593158 + t * (0.040159814 + t * (-0.4646676 + t * (0.48094046 + t * (-0.21907072 + t * (0.0040280307 + t * (0.037999336 + t * -0.011374695)))))));
  let tail = 1.0 - wg_exp(-z) * r;
  let big = wg__copysign(select(tail, 1.0, ax > 4.0), x);
  return select(select(big, small, ax <= 1.0), x, wg__isnan(x));
}

// ---------------------------------------------------------------------------------------------------
// sin, cos, tan

// pi/2 in four parts: the first three have 11 significant bits, so k * part is exact for k < 2^13.
const wg__pio2_1: f32 = 1.5703125;
const wg__pio2_2: f32 = 4.8375129699707031e-4;
const wg__pio2_3: f32 = 7.5495336204767227e-8;
const wg__pio2_4: f32 = 2.5633440682570896e-12;
const wg__pio2: f32 = 1.5707963267948966;
const wg__pio2_lo: f32 = 1.5707963267948966 - 1.57079637050628662109375;
const wg__two_over_pi: f32 = 0.6366197723675814;
// Cody-Waite is used up to here; beyond, the exact Payne-Hanek reduction.
const wg__cw_max: f32 = 8192.0;

// Bits of 2/pi, 32 per word, after one zero word (so that a window may start before the binary point).
const wg__two_over_pi_bits = array<u32, 8>(
  0x00000000u, 0xa2f9836eu, 0x4e441529u, 0xfc2757d1u,
  0xf534ddc0u, 0xdb629599u, 0x3c439041u, 0xfe5163abu,
);

// Bits [p, p + 32) of the zero-padded 2/pi table (bit 0 = the top bit of word 0).
fn wg__two_over_pi_word(p: u32) -> u32 {
  var t = wg__two_over_pi_bits;
  let j = p >> 5u;
  let o = p & 31u;
  // A shift by 32 is a shift by 0 in WGSL: select the o == 0 case explicitly.
  return (t[j] << o) | select(0u, t[j + 1u] >> (32u - o), o != 0u);
}

// An argument reduced by pi/2: x = q pi/2 + r (mod 2 pi), |r| <= pi/4 (plus rounding), q in 0..3.
struct wg__Reduced {
  r: f32,
  q: u32,
}

// For 0 <= ax <= wg__cw_max: ax reduced by pi/2, by Cody-Waite with the four-part pi/2 (exact products;
// about 2^-44 absolute error in r). Beyond the range the result is meaningless.
fn wg__reduce_cw(ax: f32) -> wg__Reduced {
  let ki = wg__round_i32(ax * wg__two_over_pi);
  let k = f32(ki);
  let r = (((ax - k * wg__pio2_1) - k * wg__pio2_2) - k * wg__pio2_3) - k * wg__pio2_4;
  return wg__Reduced(r, bitcast<u32>(ki) & 3u);
}

// For finite ax >= 0: what wg__reduce_cw gives, for every ax. Beyond 8192, Payne-Hanek: ax = m 2^E with
// a 24-bit integer m, and (ax 2/pi) mod 4 is the low 96 bits of m times a 96-bit window of 2/pi,
// multiplied out exactly in 16-bit limbs.
fn wg__reduce_pio2(ax: f32) -> wg__Reduced {
  if (ax <= wg__cw_max) {
    return wg__reduce_cw(ax);
  }
  let bits = bitcast<u32>(ax);
  let m = (bits & 0x007fffffu) | 0x00800000u;
  // ax = m 2^E with E = e - 150 (e: the biased exponent field). The window starts at the bit of 2/pi
  // worth 2^1 after scaling by 2^E: that is bit E - 1 of 2/pi, bit E + 30 of the padded table.
  let p0 = (bits >> 23u) - 120u;
  let w0 = wg__two_over_pi_word(p0);
  let w1 = wg__two_over_pi_word(p0 + 32u);
  let w2 = wg__two_over_pi_word(p0 + 64u);
  var limbs = array<u32, 6>(w2 & 0xffffu, w2 >> 16u, w1 & 0xffffu, w1 >> 16u, w0 & 0xffffu, w0 >> 16u);
  var prod: array<u32, 6>;
  let ml = m & 0xffffu;
  let mh = m >> 16u;
  var carry = 0u;
  var prev = 0u;
  for (var i = 0u; i < 6u; i++) {
    let cur = limbs[i];
    // Each term is below 2^24 and the carry below 2^10: the column sum fits in 32 bits.
    let s = carry + ((ml * cur) & 0xffffu) + ((ml * prev) >> 16u) + mh * prev;
    prod[i] = s & 0xffffu;
    carry = s >> 16u;
    prev = cur;
  }
  // Top 2 bits: the quadrant; the 94 below: the fraction of a quadrant (first 62 of them used).
  var q = prod[5] >> 14u;
  var a = ((prod[5] & 0x3fffu) << 16u) | prod[4];
  var b = (prod[3] << 16u) | prod[2];
  var sgn = 1.0;
  if ((a & 0x20000000u) != 0u) {
    // Fraction >= 1/2: the next quadrant, minus (1 - fraction), taken as the complement.
    q = q + 1u;
    a = ~a & 0x3fffffffu;
    b = ~b;
    sgn = -1.0;
  }
  let f = f32(a) * 0x1p-30f + f32(b) * 0x1p-62f;
  return wg__Reduced(sgn * (f * wg__pio2 + f * wg__pio2_lo), q & 3u);
}

// True once wg__reduce_pio2_fast met an argument beyond its range in this invocation.
var<private> wg__beyond: bool;

// wg__reduce_pio2 without its Payne-Hanek part, which a CPU implementation of WebGPU executes for every
// point even when no point needs it (it runs both sides of every branch): Cody-Waite alone, noting an
// argument beyond 8192 in wg__beyond. A kernel built with it reports that, and its run is redone with
// wg__reduce_pio2 (see speculative programs in codegen.ts).
fn wg__reduce_pio2_fast(ax: f32) -> wg__Reduced {
  // `|` rather than `||`: both sides are evaluated anyway, and `||` is control flow.
  wg__beyond = wg__beyond | (ax > wg__cw_max);
  return wg__reduce_cw(ax);
}

// sin r for |r| <= pi/4: Taylor to degree 9 (truncation 2.5e-9 relative).
fn wg__sin_poly(r: f32) -> f32 {
  let z = r * r;
  return r + r * z * (-1.0 / 6.0 + z * (1.0 / 120.0 + z * (-1.0 / 5040.0 + z * (1.0 / 362880.0))));
}

// cos r for |r| <= pi/4: Taylor to degree 10 (truncation 1e-10); 1 - r^2/2 is formed with its rounding
// error recovered, for under an ulp (w kept: 1 - (1 - hz) would fold to hz).
fn wg__cos_poly(r: f32) -> f32 {
  let z = r * r;
  let hz = 0.5 * z;
  let w = wg__kept(1.0 - hz);
  let tail = z * z * (1.0 / 24.0 + z * (-1.0 / 720.0 + z * (1.0 / 40320.0 + z * (-1.0 / 3628800.0))));
  return w + (((1.0 - w) - hz) + tail);
}

// Sine and cosine of x from one reduction by pi/2 (wg__reduce_pio2): both polynomials of the reduced
// argument, assigned by quadrant. NaN and ±Inf give NaN; sin(-0) = -0. Kernels that need both of one
// value call this once (OpRow.wgslShared). Measured: 2.3 ulp (1.6 for |x| up to 8192), or 1e-13 absolute near
// the zeros, for all finite x (tested to |x| = 3e38).
fn wg_sincos(x: f32) -> vec2<f32> {
  let bad = wg__nonfinite(x);
  let rq = wg__reduce_pio2(select(abs(x), 0.0, bad));
  let q = rq.q;
  let ps = wg__sin_poly(rq.r);
  let pc = wg__cos_poly(rq.r);
  let odd = (q & 1u) == 1u;
  var s = select(ps, pc, odd);
  s = select(s, -s, (q & 2u) != 0u);
  // sin is odd: flip by the sign bit of x (keeps sin(-0) = -0).
  s = bitcast<f32>(bitcast<u32>(s) ^ (bitcast<u32>(x) & 0x80000000u));
  let c = select(pc, ps, odd);
  let sc = vec2<f32>(s, select(c, -c, ((q + 1u) & 2u) != 0u));
  return select(sc, vec2<f32>(wg__nan(), wg__nan()), vec2<bool>(bad));
}

// Sine (see wg_sincos).
fn wg_sin(x: f32) -> f32 {
  return wg_sincos(x).x;
}

// Cosine (see wg_sincos).
fn wg_cos(x: f32) -> f32 {
  return wg_sincos(x).y;
}

// Tangent: sin r / cos r of the same reduction (-cos r / sin r in odd quadrants). NaN and ±Inf give
// NaN. Measured: 3.7 ulp.
fn wg_tan(x: f32) -> f32 {
  let bad = wg__nonfinite(x);
  let rq = wg__reduce_pio2(select(abs(x), 0.0, bad));
  let s = wg__sin_poly(rq.r);
  let c = wg__cos_poly(rq.r);
  let v = select(s / c, -c / s, (rq.q & 1u) == 1u);
  return select(bitcast<f32>(bitcast<u32>(v) ^ (bitcast<u32>(x) & 0x80000000u)), wg__nan(), bad);
}

// ---------------------------------------------------------------------------------------------------
// tanh, sigmoid

// (tanh(x), tanh'(x)) from one exponential, 4e with e = e^-2|x| (never exponentiating a positive number).
// tanh: |x| < 0.625: x + x^3 P(x^2), P a degree-4 least-squares minimax fit (0.6 ulp); above:
// (1 - e) / (1 + e) (e <= 0.29 there: no cancellation; 1 exactly once e underflows); sign restored.
// tanh' = 1 - tanh^2 = 4e / (1 + e)^2, which does not cancel in the tails. 4e is exponentiated as
// e^-2|x| 2^2 (wg__exp_df's s), rounded once: near |x| = 44, e is subnormal (a device may flush it to 0)
// while 4e is not. Kernels that need both of one value (a tanh and its gradient) call this once
// (OpRow.wgslShared). NaN stays NaN, tanh(±Inf) = ±1, tanh'(±Inf) = 0.
fn wg_tanh_d(x: f32) -> vec2<f32> {
  let ax = abs(x);
  let z = x * x;
  let p = -0.333332837 + z * (0.133314908 + z * (-0.0537434965 + z * (0.0206505787 + z * -0.00571703585)));
  let nan = wg__isnan(x);
  let e4 = select(wg__exp_df(-2.0 * select(ax, 0.0, nan), 0.0, 2), x, nan);
  let e = 0.25 * e4;
  let t = select(wg__copysign((1.0 - e) / (1.0 + e), x), x + x * z * p, ax < 0.625);
  // Below 2^-12, tanh(x) = x to float32 precision; returning x also keeps the sign of -0, which
  // x + x*z*p would lose (-0 * 0 * p is +0 for the negative p).
  return vec2<f32>(select(t, x, (ax < 0x1p-12f) | nan), e4 / ((1.0 + e) * (1.0 + e)));
}

// Hyperbolic tangent (see wg_tanh_d). Measured: 2 ulp.
fn wg_tanh(x: f32) -> f32 {
  return wg_tanh_d(x).x;
}

// tanh'(x) (see wg_tanh_d). Measured: 4 ulp.
fn wg_dtanh(x: f32) -> f32 {
  return wg_tanh_d(x).y;
}

// (sigmoid(x), sigmoid'(x)) from one exponential e = e^-|x|, never exponentiating a positive number:
// sigmoid is 1 / (1 + e) for x >= 0 and e / (1 + e) below; sigmoid' = σ(x) σ(-x) = e / (1 + e)^2, with
// no cancellation in either tail. No branch: a SIMD device runs both sides of a branch its lanes
// disagree on (and SwiftShader runs straight-line branches even when they agree). Kernels that need both
// of one value (a sigmoid and its gradient) call this once (OpRow.wgslShared).
// sigmoid(-Inf) = 0, sigmoid(+Inf) = 1, σ'(±Inf) = 0, NaN stays NaN (through wg_exp).
fn wg_sigmoid_d(x: f32) -> vec2<f32> {
  let e = wg_exp(-abs(x));
  return vec2<f32>(select(e, 1.0, x >= 0.0) / (1.0 + e), e / ((1.0 + e) * (1.0 + e)));
}

// Logistic function (see wg_sigmoid_d). Measured: 2.2 ulp.
fn wg_sigmoid(x: f32) -> f32 {
  return wg_sigmoid_d(x).x;
}

// sigmoid'(x) (see wg_sigmoid_d). Measured: 4 ulp.
fn wg_dsigmoid(x: f32) -> f32 {
  return wg_sigmoid_d(x).y;
}

// log(1 + e^x) as max(x, 0) + log1p(e^-|x|): no overflow, no cancellation. softplus(+Inf) = +Inf,
// softplus(-Inf) = 0, NaN stays NaN. Measured: 3.7 ulp.
fn wg_softplus(x: f32) -> f32 {
  let r = select(0.0, x, x > 0.0) + wg_log1p(wg_exp(-abs(x)));
  return select(r, x, wg__isnan(x) | (x == wg__inf()));
}

// ---------------------------------------------------------------------------------------------------
// sqrt

// Square root: the builtin, then one Newton step with the exact residual x - y^2 (so an approximate
// builtin still ends within an ulp). sqrt(x < 0) = NaN, sqrt(±0) = ±0, sqrt(+Inf) = +Inf, NaN stays
// NaN. Measured: 0.5 ulp (correctly rounded on every tested input).
fn wg_sqrt(x: f32) -> f32 {
  let y = sqrt(x);
  // The residual is exact where y^2 and its error term are normal and finite; elsewhere the builtin stands.
  let p = wg__two_prod(y, y);
  let refined = y + (((x - p.x) - p.y) / (2.0 * y));
  var r = select(y, refined, (x >= 0x1p-100f) & (x <= 0x1p100f));
  // Special values by select, the later ones first in rank. Zero is tested by its bits: a device that
  // flushes subnormals compares them equal to 0, and returning such an x would give sqrt(1e-38) = 1e-38.
  r = select(r, x, ((bitcast<i32>(x) & 0x7fffffff) == 0) | wg__isinf(x));
  r = select(r, wg__nan(), x < 0.0);
  return select(r, x, wg__isnan(x));
}

// ---------------------------------------------------------------------------------------------------
// atan, asin, acos

// (atan(t) - t) / t^3 as a function of z = t^2, for |t| <= tan(pi/8): a degree-4 least-squares minimax
// fit for relative error (3e-9 in atan with float32 coefficients).
fn wg__atan_poly(z: f32) -> f32 {
  return -0.33333316 + z * (0.19998471 + z * (-0.14243533 + z * (0.10593809 + z * -0.060782105)));
}

// Arctangent. Method: |x| reduced to |t| <= tan(pi/8) with atan|x| = atan(t) + c: t = |x| (c = 0), then
// (|x| - 1) / (|x| + 1) (c = pi/4) from tan(pi/8), -1 / |x| (c = pi/2) from tan(3pi/8); c as a head and
// a tail; the sign of x restored (atan(-0) = -0). atan(±Inf) = ±pi/2, NaN stays NaN. Measured: 2.1 ulp.
fn wg_atan(x: f32) -> f32 {
  let ax = abs(x);
  let mid = ax > 0.41421357;
  let big = ax > 2.4142137;
  let t = select(select(ax, (ax - 1.0) / (ax + 1.0), mid), -1.0 / ax, big);
  let c = select(select(0.0, 0.5 * wg__pio2, mid), wg__pio2, big);
  let cl = select(select(0.0, 0.5 * wg__pio2_lo, mid), wg__pio2_lo, big);
  let z = t * t;
  let r = c + ((t + t * z * wg__atan_poly(z)) + cl);
  return select(wg__copysign(r, x), x, wg__isnan(x));
}

// (asin(s) - s) / s^3 as a function of z = s^2, for |s| <= 1/2: a degree-4 least-squares minimax fit for
// relative error (6e-9 in asin with float32 coefficients).
fn wg__asin_poly(z: f32) -> f32 {
  return 0.16666752 + z * (0.074952975 + z * (0.04547037 + z * (0.02417953 + z * 0.04216628)));
}

// asin(s) as a pair hi + lo (hi = s) for s = |x| up to 1/2, and for s = sqrt((1 - |x|) / 2) beyond (1 - |x|
// exact there), where asin|x| = pi/2 - 2 asin(s) and acos|x| = 2 asin(s): the polynomial never meets the
// steep ends. There lo also carries the rounding of the square root, since 2 s is subtracted from pi/2
// exactly and its rounding error would count twice.
fn wg__asin_s(ax: f32) -> vec2<f32> {
  let hi = ax > 0.5;
  let z = select(ax * ax, 0.5 * (1.0 - ax), hi);
  let s = select(ax, wg_sqrt(z), hi);
  let sq = wg__two_prod(s, s);
  let c = select(0.0, ((z - sq.x) - sq.y) / (2.0 * s), hi & (s > 0.0));
  return vec2<f32>(s, s * z * wg__asin_poly(z) + c);
}

// Arcsine: see wg__asin_s; the sign of x restored (asin(-0) = -0). |x| > 1 gives NaN, NaN stays NaN.
// Measured: 1.8 ulp.
fn wg_asin(x: f32) -> f32 {
  let ax = abs(x);
  let p = wg__asin_s(ax);
  let r = select(p.x + p.y, ((wg__pio2 - 2.0 * p.x) - 2.0 * p.y) + wg__pio2_lo, ax > 0.5);
  return select(select(wg__copysign(r, x), wg__nan(), ax > 1.0), x, wg__isnan(x));
}

// Arccosine: pi/2 - asin(x) for |x| <= 1/2; 2 asin(s) above, pi - 2 asin(s) below (see wg__asin_s), so that
// acos(1) = 0 exactly. |x| > 1 gives NaN, NaN stays NaN. Measured: 1.4 ulp.
fn wg_acos(x: f32) -> f32 {
  let ax = abs(x);
  let p = wg__asin_s(ax);
  let mid = ((wg__pio2 - wg__copysign(p.x, x)) - wg__copysign(p.y, x)) + wg__pio2_lo;
  let below = ((2.0 * wg__pio2 - 2.0 * p.x) - 2.0 * p.y) + 2.0 * wg__pio2_lo;
  let r = select(mid, select(2.0 * p.x + 2.0 * p.y, below, x < 0.0), ax > 0.5);
  return select(select(r, wg__nan(), ax > 1.0), x, wg__isnan(x));
}

// atan2(y, x): the angle of (x, y), in [-pi, pi], as C's. atan(|y| / |x|) (wg_atan; a quotient that overflows
// or underflows still gives the right angle, pi/2 or 0, to within the quotient's own rounding), taken from
// pi where x is negative or -0, and given the sign of y. Both infinite: pi/4 or 3pi/4; both zero: 0 or pi
// by the sign of x (atan2(±0, -0) = ±pi); NaN in either gives NaN. Measured: 2.4 ulp.
fn wg_atan2(y: f32, x: f32) -> f32 {
  let ay = abs(y);
  let ax = abs(x);
  var r = wg_atan(wg_div(ay, ax));
  r = select(r, 0.5 * wg__pio2, wg__isinf(ay) & wg__isinf(ax));
  r = select(r, 0.0, (ay == 0.0) & (ax == 0.0));
  let west = (bitcast<u32>(x) & 0x80000000u) != 0u;
  r = select(r, (2.0 * wg__pio2 - r) + 2.0 * wg__pio2_lo, west);
  return select(wg__copysign(r, y), wg__nan(), wg__isnan(x) | wg__isnan(y));
}

// ---------------------------------------------------------------------------------------------------
// sinh, cosh, asinh, acosh, atanh

// e^|x| / 2 for |x| > 20 (where e^-|x| is below 2^-57 of it), halved inside wg__exp_df: it stays finite up
// to |x| = 89.4, where e^|x| alone would overflow from 88.7.
fn wg__exp_half(ax: f32) -> f32 {
  return wg__exp_df(ax, 0.0, -1);
}

// Hyperbolic sine: (t + t / (t + 1)) / 2 with t = e^|x| - 1 (wg_expm1: no cancellation near 0), e^|x| / 2
// beyond 20 (wg__exp_half); the sign of x restored (sinh(-0) = -0). Overflow gives ±Inf, NaN stays NaN.
// Measured: 3.3 ulp.
fn wg_sinh(x: f32) -> f32 {
  let ax = abs(x);
  let t = wg_expm1(select(ax, 0.0, ax > 20.0));
  let r = select(0.5 * (t + t / (t + 1.0)), wg__exp_half(ax), ax > 20.0);
  return select(wg__copysign(r, x), x, wg__isnan(x));
}

// Hyperbolic cosine: (e + 1 / e) / 2 with e = e^|x|, e^|x| / 2 beyond 20 (wg__exp_half). Overflow gives
// +Inf, NaN stays NaN. Measured: 1.5 ulp.
fn wg_cosh(x: f32) -> f32 {
  let ax = abs(x);
  let e = wg_exp(select(ax, 0.0, ax > 20.0));
  let r = select(0.5 * e + 0.5 / e, wg__exp_half(ax), ax > 20.0);
  return select(r, x, wg__isnan(x));
}

// Inverse hyperbolic sine: log1p(|x| + x^2 / (1 + sqrt(1 + x^2))) (the same as log(|x| + sqrt(1 + x^2)),
// without the rounding of 1 + a small value); log|x| + ln 2 beyond 2^12, where x^2 would overflow
// further out; x itself below 2^-12. The sign of x restored. asinh(±Inf) = ±Inf, NaN stays NaN.
// Measured: 3.6 ulp.
fn wg_asinh(x: f32) -> f32 {
  let ax = abs(x);
  let big = ax > 4096.0;
  let a = select(ax, 1.0, big);
  let z = a * a;
  let mid = wg_log1p(a + z / (1.0 + wg_sqrt(1.0 + z)));
  let r = select(mid, (wg_log(ax) + wg__ln2_l) + wg__ln2_h, big);
  return select(wg__copysign(r, x), x, (ax < 0x1p-12f) | wg__isnan(x));
}

// Inverse hyperbolic cosine: log1p(t + sqrt(2t + t^2)) with t = x - 1 (exact up to x = 2, and no 1 + small
// value rounded); log x + ln 2 beyond 2^12. acosh(1) = 0, x < 1 gives NaN, acosh(+Inf) = +Inf, NaN stays
// NaN. Measured: 3.9 ulp.
fn wg_acosh(x: f32) -> f32 {
  let big = x > 4096.0;
  let t = select(x, 1.0, big) - 1.0;
  let mid = wg_log1p(t + wg_sqrt(2.0 * t + t * t));
  let r = select(mid, (wg_log(x) + wg__ln2_l) + wg__ln2_h, big);
  return select(select(r, wg__nan(), x < 1.0), x, wg__isnan(x));
}

// Inverse hyperbolic tangent: log1p(2a + 2a^2 / (1 - a)) / 2 for a = |x| < 1/2, log1p(2a / (1 - a)) / 2 up
// to 1 (1 - a exact there); x itself below 2^-12; the sign of x restored. atanh(±1) = ±Inf, |x| > 1
// gives NaN, NaN stays NaN. Measured: 3.5 ulp.
fn wg_atanh(x: f32) -> f32 {
  let a = abs(x);
  let lo = a < 0.5;
  let b = select(a, 0.0, a >= 1.0);
  let u = select(2.0 * b / (1.0 - b), 2.0 * b + 2.0 * b * b / (1.0 - b), lo);
  var r = wg__copysign(0.5 * wg_log1p(u), x);
  r = select(r, wg__copysign(wg__inf(), x), a == 1.0);
  r = select(r, wg__nan(), a > 1.0);
  return select(r, x, (a < 0x1p-12f) | wg__isnan(x));
}

// ---------------------------------------------------------------------------------------------------
// pow

// a ** b as C's pow and PyTorch define it: pow(x, ±0) = 1 (even for NaN x), pow(1, y) = 1 (even for NaN
// y), pow(-1, ±Inf) = 1; NaN otherwise propagates; negative base: NaN for a non-integer exponent, the signed power for an integer
// one (pow(-2, 3) = -8); zero and infinite bases by the IEEE rules (pow(0, y > 0) = 0, pow(-0, -3) = -Inf).
// Method: e^(b ln|a|) with ln|a| as a pair (wg__ln_df) and the product b ln|a| formed exactly
// (wg__two_prod), so the error does not grow with |b ln a|. Measured: 1.1 ulp, up to the ends of the float32
// range.
fn wg_pow(a: f32, b: f32) -> f32 {
  let aa = abs(a);
  let ab = abs(b);
  // b an integer (every f32 from 2^24 on is an even one), and odd: tested on ab / 2, which is exact.
  let big = ab >= 16777216.0;
  let whole = (floor(ab) == ab) | big;
  let h = 0.5 * ab;
  let odd = (floor(h) != h) & whole & !big;
  let flip = (a < 0.0) & odd;
  let l = wg__ln_df(aa);
  let p = wg__two_prod(b, l.x);
  let v = wg__exp_df(p.x, p.y + b * l.y, 0);
  // The general case, then the special ones by select, the later ones first in rank (a SIMD device runs
  // every side of a branch its lanes disagree on, so branches would save nothing).
  var r = select(v, -v, flip);
  r = select(r, wg__nan(), (a < 0.0) & !whole);
  let vi = select(0.0, wg__inf(), b > 0.0);
  r = select(r, select(vi, -vi, flip), wg__isinf(a));
  let pos = select(0.0, a, odd);
  let neg = select(wg__inf(), wg__copysign(wg__inf(), a), odd);
  r = select(r, select(neg, pos, b > 0.0), aa == 0.0);
  let binf = select(select(0.0, wg__inf(), (aa > 1.0) == (b > 0.0)), 1.0, aa == 1.0);
  r = select(r, binf, wg__isinf(b));
  r = select(r, a, wg__isnan(a));
  r = select(r, 1.0, ab == 0.0);
  r = select(r, b, wg__isnan(b));
  return select(r, 1.0, a == 1.0);
}

// x ** n for an integer n >= 1 (the table passes a literal), by repeated squaring in a pair hi + lo,
// so that the rounding errors do not accumulate with n. Exact where the true power is a float
// (powers of 2, small integers), -0 ** odd = -0, overflow gives ±Inf, NaN stays NaN.
// Each product is renormalised (wg__fast_two_sum): left to grow, the low part doubled against the high one
// at every squaring, and the square of the low part it drops came to matter (x^262145 130 ulp off).
// Measured: 0.5 ulp where the power is above 2^-100; below, the pair's low part may be flushed (see
// wg__two_prod) and the power is a float32 product (4.5 ulp for x^9 in bench:prelude).
fn wg_powi(x: f32, n: u32) -> f32 {
  var rh = 1.0;
  var rl = 0.0;
  var bh = x;
  var bl = 0.0;
  var e = n;
  // The bits of n decide by select, not by branch: a CPU implementation of WebGPU cannot tell that every
  // lane agrees on them, and would mask both sides.
  loop {
    let p = wg__two_prod(rh, bh);
    let take = (e & 1u) != 0u;
    let r = wg__renormal(p.x, p.y + (rh * bl + rl * bh));
    rl = select(rl, r.y, take);
    rh = select(rh, r.x, take);
    e = e >> 1u;
    if (e == 0u) {
      break;
    }
    let s = wg__two_prod(bh, bh);
    let b = wg__renormal(s.x, s.y + 2.0 * bh * bl);
    bl = b.y;
    bh = b.x;
  }
  // Where the high part is infinite the low part is NaN; where it is 0 keep its sign.
  return select(rh + rl, rh, wg__isinf(rh) | (rl == 0.0));
}

// The pair h + l renormalised (wg__fast_two_sum) where l is nonzero and h finite; as it is elsewhere, so that
// an infinite h stays infinite (not Inf - Inf = NaN) and a zero h keeps its sign (-0 + 0 would be +0).
fn wg__renormal(h: f32, l: f32) -> vec2<f32> {
  return select(wg__fast_two_sum(h, l), vec2<f32>(h, l), wg__nonfinite(h) | (l == 0.0));
}

// 1 / x^n for an integer n >= 1, given the power `p` as computed (a product, or wg_powi). Where p is below
// float32's normal range, a device may have flushed it (or a partial product) to 0, though its reciprocal
// can still be a float (1.6e-5 ** -8 = 2.3e38): there the result is e^(-n ln|x|) (wg_pow), which forms no
// such tiny value. A branch, not a select: wg_pow costs more than the rest, and almost no point takes it.
fn wg__recip_pow(x: f32, p: f32, n: f32) -> f32 {
  var r = 1.0 / p;
  if (abs(p) < 0x1p-126f) {
    r = wg_pow(x, -n);
  }
  return r;
}

// ---------------------------------------------------------------------------------------------------
// Division

// a / b with IEEE's special values (NaN, ±Inf, signed zeros) and WGSL's accuracy (2.5 ulp, not the correctly
// rounded quotient of the CPU) for every normal b (a device may flush subnormals to 0). WGSL promises a
// quotient's accuracy only for |b| in [2^-126, 2^126], and a GPU may divide by multiplying with 1 / b, which
// beyond 2^126 is subnormal and flushed to 0 (an NVIDIA driver gives 88.7 / 3e38 = 0 and x / x = 0 for
// x = -2.5e38): there both operands are divided by 4 first (exactly, but where a is then subnormal, and so is
// the quotient). The scaled b is kept, so that no compiler cancels the two scalings. A finite a over ±Inf
// is the signed zero by its bits, not left to an approximate 1 / Inf.
fn wg_div(a: f32, b: f32) -> f32 {
  let big = abs(b) > 0x1p126f;
  let q = select(a, a * 0.25, big) / select(b, wg__kept(b * 0.25), big);
  let zero = bitcast<f32>((bitcast<u32>(a) ^ bitcast<u32>(b)) & 0x80000000u);
  return select(q, zero, wg__isinf(b) & !wg__nonfinite(a));
}

// ---------------------------------------------------------------------------------------------------
// Piecewise functions: NaN checked on the bits. Written with select() alone: a CPU implementation of
// WebGPU runs both sides of a branch whenever its lanes differ, and pays for the masking even when not.

// max(x, 0): relu(NaN) = NaN, relu(-0) = 0. x is kept where it is chosen, as a clamp bound is (see
// wg_clampmin): `x > 0 ? x : 0` made a GPU's max could give relu(-0) = -0.
fn wg_relu(x: f32) -> f32 {
  return select(select(0.0, wg__kept(x), x > 0.0), x, wg__isnan(x));
}

// 1 where x > 0, else 0; NaN stays NaN (relu' with relu'(0) = 0).
fn wg_step(x: f32) -> f32 {
  return select(select(0.0, 1.0, x > 0.0), x, wg__isnan(x));
}

// -1, 0 or 1 by the sign of x (0 for ±0); NaN stays NaN.
fn wg_sign(x: f32) -> f32 {
  return select(select(select(0.0, -1.0, x < 0.0), 1.0, x > 0.0), x, wg__isnan(x));
}

// The value of equal operands: a, but for two zeros `zeros` of their bits (the sign bits ANDed or ORed). Zeros
// are told by their bits: a device that takes subnormals for 0 in comparisons finds 1e-40 == 2e-40, and
// mixing those bits would give neither.
fn wg__tie(a: f32, b: f32, zeros: u32) -> f32 {
  return select(a, bitcast<f32>(zeros), ((bitcast<u32>(a) | bitcast<u32>(b)) & 0x7fffffffu) == 0u);
}

// NaN if either is NaN, else the larger; max(-0, 0) = 0.
fn wg_maximum(a: f32, b: f32) -> f32 {
  let m = select(select(b, a, a > b), wg__tie(a, b, bitcast<u32>(a) & bitcast<u32>(b)), a == b);
  return select(m, wg__nan(), wg__isnan(a) | wg__isnan(b));
}

// NaN if either is NaN, else the smaller; min(-0, 0) = -0.
fn wg_minimum(a: f32, b: f32) -> f32 {
  let m = select(select(b, a, a < b), wg__tie(a, b, bitcast<u32>(a) | bitcast<u32>(b)), a == b);
  return select(m, wg__nan(), wg__isnan(a) | wg__isnan(b));
}

// 1 where a > b, 0.5 where a == b, 0 where a < b, NaN if either is NaN.
fn wg_tiehalf(a: f32, b: f32) -> f32 {
  return select(select(select(0.0, 0.5, a == b), 1.0, a > b), wg__nan(), wg__isnan(a) | wg__isnan(b));
}

// a * log(b), and 0 where b == 0 and a is finite; NaN in either stays NaN. Measured: as wg_log.
fn wg_xlogy(a: f32, b: f32) -> f32 {
  let r = select(a * wg_log(b), 0.0, (b == 0.0) & !wg__nonfinite(a));
  return select(r, wg__nan(), wg__isnan(a) | wg__isnan(b));
}

// 1 - a^2: a^2 as an exact pair (wg__two_prod), 1 minus its head exact for |a| in [0.71, 1.41] (near ±1,
// where it matters: there the result is rounded once), the tail then added. Below 2^-100 the pair's tail is 0 and a^2 is negligible anyway; NaN stays
// NaN, and where a^2 overflows the result is -Inf, where the pair would give Inf - Inf. Measured: 1 ulp.
fn wg_omsq(a: f32) -> f32 {
  let p = wg__two_prod(a, a);
  return select((1.0 - p.x) - p.y, 1.0 - p.x, wg__nonfinite(p.x));
}

// a * b, and 0 where a == 0 whatever b is (Inf or NaN too).
fn wg_mulz(a: f32, b: f32) -> f32 {
  return select(a * b, 0.0, a == 0.0);
}

// b where a < b, else a (a tie keeps a, -0 included); NaN if either is NaN. b is kept where it is chosen:
// `a < b ? b : a` is max(a, b) to a compiler that assumes finite math and ignores the sign of zero, and a
// GPU's max gives clamp(-0, min 0) = +0 (an NVIDIA driver does).
fn wg_clampmin(a: f32, b: f32) -> f32 {
  return select(select(a, wg__kept(b), a < b), wg__nan(), wg__isnan(a) | wg__isnan(b));
}

// b where a > b, else a (a tie keeps a, -0 included); NaN if either is NaN. b kept, as in the lower bound's
// function above.
fn wg_clampmax(a: f32, b: f32) -> f32 {
  return select(select(a, wg__kept(b), a > b), wg__nan(), wg__isnan(a) | wg__isnan(b));
}

// 1 where a >= b, 0 where a < b, NaN if either is NaN.
fn wg_atleast(a: f32, b: f32) -> f32 {
  return select(select(0.0, 1.0, a >= b), wg__nan(), wg__isnan(a) | wg__isnan(b));
}

// Comparisons as 1 or 0: `holds` the comparison, overridden where either operand is NaN (tested by its bits:
// a compiler may assume there is none, and fold `a < b` into `!(a >= b)`), which compares false, and unequal.
fn wg__compared(holds: bool, a: f32, b: f32, if_nan: f32) -> f32 {
  return select(select(0.0, 1.0, holds), if_nan, wg__isnan(a) | wg__isnan(b));
}

fn wg_lt(a: f32, b: f32) -> f32 {
  return wg__compared(a < b, a, b, 0.0);
}

fn wg_le(a: f32, b: f32) -> f32 {
  return wg__compared(a <= b, a, b, 0.0);
}

fn wg_gt(a: f32, b: f32) -> f32 {
  return wg__compared(a > b, a, b, 0.0);
}

fn wg_ge(a: f32, b: f32) -> f32 {
  return wg__compared(a >= b, a, b, 0.0);
}

fn wg_eq(a: f32, b: f32) -> f32 {
  return wg__compared(a == b, a, b, 0.0);
}

fn wg_ne(a: f32, b: f32) -> f32 {
  return wg__compared(a != b, a, b, 1.0);
}

// a where m is nonzero (NaN included), else b: m is tested by its bits, so that -0 counts as 0 and NaN
// as nonzero whatever the compiler assumes.
fn wg_where(m: f32, a: f32, b: f32) -> f32 {
  return select(b, a, (bitcast<u32>(m) & 0x7fffffffu) != 0u);
}

// floor, ceil, round (ties to even) and trunc: the builtins, which are exact, with NaN kept explicitly.
fn wg_floor(x: f32) -> f32 {
  return select(floor(x), x, wg__isnan(x));
}

fn wg_ceil(x: f32) -> f32 {
  return select(ceil(x), x, wg__isnan(x));
}

fn wg_round(x: f32) -> f32 {
  return select(round(x), x, wg__isnan(x));
}

fn wg_trunc(x: f32) -> f32 {
  return select(trunc(x), x, wg__isnan(x));
}
