// Host check of the MFMA prefill kernel's register layouts (csrc/gpu/mfma_layout.h), for a machine without an AMD
// GPU. It calls the functions prefill_mfma.cu calls, not copies of them:
//  - S^T = K Q^T: K operands from a K tile (load_operand), Q^T gathered from Q rows in memory with a dim stride and
//    zero padding past head_dim (gather_operand, load_pair);
//  - O^T = V^T P^T: the V^T tile built piece by piece by the kernel's transposing store (store_transposed), V^T
//    operands from it, P^T from the S^T accumulators and its split (split_p_operand, p_split.h);
//  both run through an emulation of v_mfma_f32_16x16x16bf16_1k / v_mfma_f32_16x16x16f16 written from AMD's
//  documented layout, the products compared with plain matrix products in double. The S^T check alone cannot see
//  the same k (head-dim) order swap in both load_operand and gather_operand (the dot product does not change); the
//  O^T check does, since there load_operand's k order must meet P^T's, which the accumulator layout fixes;
//  - line_max / line_sum: 64 lanes emulated, each exchanging with the partner lanes line_xor gives, step by step;
//    every lane of a line (the lanes that hold one column of C/D, per AMD's layout) must end with that line's max
//    and sum, and exactly one lane per line may store the LSE (stores_line_lse).
// Three controls show the checks are sensitive and must fail them: a swapped pair of K operand items, P V without
// the P split, and the line reductions without their last step. Exit status 0 when every check passes and every
// control fails.
//
// Source of the emulated layout: AMD Matrix Instruction Calculator (github.com/ROCm/amd_matrix_instruction_calculator),
// matrix_calculator.py, class InstCalcGfx9 (CDNA): __get_input_reg_lanes and __get_output_reg_lanes, with the
// CDNA2 entries v_mfma_f32_16x16x16bf16_1k and v_mfma_f32_16x16x16f16 (M = N = K = 16, 1 block, 16-bit inputs two
// to a 32-bit register, low half first; f32 outputs). The calculator's formulas are transcribed below in their
// general form, not specialised, so that they do not merely restate mfma_layout.h.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "gpu/mfma_layout.h"
#include "gpu/p_split.h"

namespace {

using gqa::DType;
namespace mfma = gqa::gpu::mfma;

constexpr int kLanes = 64;

struct Shape {
  int m, n, k, blocks;
};
constexpr Shape k16x16x16 = {16, 16, 16, 1};

struct RegLane {
  int element;  // 16-bit element index within the lane's operand registers, or the f32 register of C/D
  int lane;
};

// Calculator, __get_input_reg_lanes(M, K, B, i, k, b): A[i][k] is (M, K, i, k); B[k][j] is (N, K, j, k).
RegLane input_location(int outer, int inner, int blocks, int i, int k, int b) {
  const int elements_in_contiguous_gprs = inner / (64 / (outer * blocks));
  const int element = k % elements_in_contiguous_gprs;
  const int lane = b * outer + (k / elements_in_contiguous_gprs) * outer * blocks + i;
  return {element, lane};
}

// Calculator, __get_output_reg_lanes(M, N, i, j, b) for 32-bit outputs.
RegLane output_location(int m, int n, int i, int j, int b) {
  const int multirows_per_register = 64 / n;
  const int multirow_height = 4;
  const int blocks_per_register = (64 + (n * m) / multirow_height - 1) / ((n * m) / multirow_height);
  const int reg = b * (m * n / 64) + (i / (multirow_height * multirows_per_register)) * multirow_height +
                  i % multirow_height;
  const int lane = (b % blocks_per_register) * n +
                   ((i / multirow_height) % multirows_per_register) * blocks_per_register * n + j;
  return {reg, lane};
}

// Input element e of a lane's two registers: register floor(e / 2) % 2, bits [16 (e % 2), 16 (e % 2) + 15] (the
// calculator's _coord_to_input_reg_eqn for 16-bit inputs in two registers, K <= 16).
float element_value(const mfma::Operand& op, int element, DType t) {
  const uint16_t bits = uint16_t(op.reg[element / 2] >> (16 * (element % 2)));
  return t == DType::BF16 ? gqa::bf16_to_f32(bits) : gqa::f16_to_f32(bits);
}

// One wavefront's D = A B + C (C and D in the same registers), products exact, sums in double, rounded to f32.
void emulate_mfma(DType t, const mfma::Operand (&a)[kLanes], const mfma::Operand (&b)[kLanes],
                  float (&c)[kLanes][mfma::kAccRegs]) {
  const Shape s = k16x16x16;
  float d[kLanes][mfma::kAccRegs];
  for (int i = 0; i < s.m; ++i) {
    for (int j = 0; j < s.n; ++j) {
      const RegLane out = output_location(s.m, s.n, i, j, 0);
      double acc = c[out.lane][out.element];
      for (int k = 0; k < s.k; ++k) {
        const RegLane ai = input_location(s.m, s.k, s.blocks, i, k, 0);
        const RegLane bi = input_location(s.n, s.k, s.blocks, j, k, 0);
        acc += double(element_value(a[ai.lane], ai.element, t)) * double(element_value(b[bi.lane], bi.element, t));
      }
      d[out.lane][out.element] = float(acc);
    }
  }
  for (int l = 0; l < kLanes; ++l)
    for (int r = 0; r < mfma::kAccRegs; ++r) c[l][r] = d[l][r];
}

uint16_t to_bits(float x, DType t) { return t == DType::BF16 ? gqa::f32_to_bf16(x) : gqa::f32_to_f16(x); }
float from_bits(uint16_t x, DType t) { return t == DType::BF16 ? gqa::bf16_to_f32(x) : gqa::f16_to_f32(x); }

// The kernel's shapes at a small scale: 16 query rows (one wavefront), kKeys keys (2 key blocks), kDims dims (4
// dim blocks); tiles with the kernel's padded pitches. Q is stored dim-major (dims 16 elements apart), so that the
// gather's stride matters, and only its first kQLen dims are loaded (the head dim of a padded tile): the gather
// must read the rest as zeros, against K tile columns that are not zero.
constexpr int kKeys = 32, kDims = 64, kQLen = kDims - 8;
constexpr int kKPitch = kDims + 4, kVPitch = kKeys + 4;

struct Problem {
  std::vector<uint16_t> q, k, v;  // [kDims][16], [kKeys][kDims], [kKeys][kDims] in the dtype
  std::vector<float> p;           // [16][kKeys] softmax-like weights in [0, 1]
};

Problem make_problem(DType t, std::mt19937& rng) {
  std::uniform_real_distribution<float> sym(-1.f, 1.f), unit(0.f, 1.f);
  Problem pr;
  for (int i = 0; i < kDims * 16; ++i) pr.q.push_back(to_bits(sym(rng), t));
  for (int i = 0; i < kKeys * kDims; ++i) pr.k.push_back(to_bits(sym(rng), t));
  for (int i = 0; i < kKeys * kDims; ++i) pr.v.push_back(to_bits(3.f * sym(rng), t));
  // Weights over many binades, as after exp2(s - m): the tail terms of the split matter.
  for (int i = 0; i < 16 * kKeys; ++i) pr.p.push_back(std::exp2(-20.f * unit(rng)) * (0.5f + 0.5f * unit(rng)));
  return pr;
}

struct Result {
  int mismatches = 0;
  double worst = 0;  // largest |error| / tolerance
};

void compare(Result& res, double got, double want, double tol) {
  const double err = std::fabs(got - want);
  if (!(err <= tol)) ++res.mismatches;
  if (err / tol > res.worst) res.worst = err / tol;
}

// S^T = K Q^T as the kernel computes it, compared with sum_d Q[q][d] K[key][d]. swap_k_items: the control, a K
// operand with items 0 and 1 exchanged.
Result check_scores(DType t, const Problem& pr, bool swap_k_items) {
  alignas(16) uint16_t k_tile[kKeys][kKPitch] = {};
  for (int key = 0; key < kKeys; ++key)
    for (int d = 0; d < kDims; ++d) k_tile[key][d] = pr.k[size_t(key * kDims + d)];
  // Lane's query row as the kernel picks it (its line), then its operands as the kernel gathers them.
  mfma::Operand qb[kDims / 16][kLanes];
  for (int kk = 0; kk < kDims / 16; ++kk)
    for (int lane = 0; lane < kLanes; ++lane)
      qb[kk][lane] = mfma::gather_operand(lane, &pr.q[size_t(mfma::lane_line(lane))], 16, kQLen, kk * 16);
  Result res;
  for (int nb = 0; nb < kKeys / 16; ++nb) {
    float s[kLanes][mfma::kAccRegs] = {};
    for (int kk = 0; kk < kDims / 16; ++kk) {
      mfma::Operand ka[kLanes];
      for (int lane = 0; lane < kLanes; ++lane) {
        ka[lane] = mfma::load_operand(&k_tile[nb * 16][kk * 16], kKPitch, lane);
        if (swap_k_items) ka[lane].reg[0] = ka[lane].reg[0] >> 16 | ka[lane].reg[0] << 16;
      }
      emulate_mfma(t, ka, qb[kk], s);
    }
    for (int lane = 0; lane < kLanes; ++lane) {
      for (int r = 0; r < mfma::kAccRegs; ++r) {
        const int query = mfma::lane_line(lane), key = nb * 16 + mfma::acc_row(lane, r);
        double want = 0, magnitude = 0;
        for (int d = 0; d < kQLen; ++d) {
          const double x = double(from_bits(pr.q[size_t(d * 16 + query)], t)) *
                           double(from_bits(pr.k[size_t(key * kDims + d)], t));
          want += x;
          magnitude += std::fabs(x);
        }
        compare(res, s[lane][r], want, 1e-5 * magnitude + 1e-30);
      }
    }
  }
  return res;
}

// O^T = V^T P^T as the kernel computes it, with P^T taken from S^T accumulators holding P, compared with
// sum_key P[q][key] V[key][d]. all_terms = false: the control, P rounded to the dtype (the first term only).
template <DType kType>
Result check_output(const Problem& pr, bool all_terms) {
  using Split = gqa::gpu::PSplit<kType>;
  // V^T through the kernel's store, fed pieces of 8 dims packed as load_kv_tile packs them.
  alignas(16) uint16_t v_tile[kDims][kVPitch] = {};
  for (int key = 0; key < kKeys; ++key) {
    const uint16_t* v_row = &pr.v[size_t(key * kDims)];
    for (int d0 = 0; d0 < kDims; d0 += 8) {
      uint32_t pairs[4];
      for (int e = 0; e < 4; ++e) pairs[e] = gqa::gpu::load_pair(v_row, 1, kDims, d0 + 2 * e);
      mfma::store_transposed(v_tile[0], kVPitch, key, d0, pairs);
    }
  }
  // S^T registers holding P, then the P^T operand terms, per key block.
  mfma::Operand p_terms[kKeys / 16][Split::kTerms][kLanes];
  for (int kk = 0; kk < kKeys / 16; ++kk) {
    for (int lane = 0; lane < kLanes; ++lane) {
      float s[mfma::kAccRegs];
      for (int r = 0; r < mfma::kAccRegs; ++r)
        s[r] = pr.p[size_t(mfma::lane_line(lane) * kKeys + kk * 16 + mfma::acc_row(lane, r))];
      mfma::Operand terms[Split::kTerms];
      mfma::split_p_operand<kType>(s, terms);
      for (int term = 0; term < Split::kTerms; ++term) p_terms[kk][term][lane] = terms[term];
    }
  }
  Result res;
  for (int nd = 0; nd < kDims / 16; ++nd) {
    float o[kLanes][mfma::kAccRegs] = {}, o_tail[kLanes][mfma::kAccRegs] = {};
    for (int kk = 0; kk < kKeys / 16; ++kk) {
      mfma::Operand va[kLanes];
      for (int lane = 0; lane < kLanes; ++lane) va[lane] = mfma::load_operand(&v_tile[nd * 16][kk * 16], kVPitch, lane);
      emulate_mfma(kType, va, p_terms[kk][0], o);
      for (int term = 1; term < (all_terms ? Split::kTerms : 1); ++term) emulate_mfma(kType, va, p_terms[kk][term], o_tail);
    }
    for (int lane = 0; lane < kLanes; ++lane) {
      for (int r = 0; r < mfma::kAccRegs; ++r) {
        const float got = o[lane][r] + o_tail[lane][r] * (1.f / Split::kTailScale);
        const int query = mfma::lane_line(lane), d = nd * 16 + mfma::acc_row(lane, r);
        double want = 0, magnitude = 0;
        for (int key = 0; key < kKeys; ++key) {
          const double x = double(pr.p[size_t(query * kKeys + key)]) * double(from_bits(pr.v[size_t(key * kDims + d)], kType));
          want += x;
          magnitude += std::fabs(x);
        }
        // About f32 accuracy, as the split promises (p_split.h): far below one rounding of P to the dtype.
        compare(res, got, want, 1e-6 * magnitude + 1e-30);
      }
    }
  }
  return res;
}

// line_max and line_sum as the kernel computes them (every lane combines with lane ^ line_xor(step), all lanes in
// step), over 64 lanes of random values, some -inf as for a row with nothing allowed; then every lane of a line
// must hold the line's max and (bit-identical across the line) its sum, and exactly one lane of the line may store
// the LSE. skip_last_step: the control, the reductions one exchange short.
Result check_lines(std::mt19937& rng, bool skip_last_step) {
  std::uniform_real_distribution<float> sym(-10.f, 10.f), unit(0.f, 1.f);
  float mx[kLanes], sum[kLanes];
  for (int lane = 0; lane < kLanes; ++lane) {
    mx[lane] = unit(rng) < 0.2f ? -INFINITY : sym(rng);
    sum[lane] = unit(rng);
  }
  // The lanes of line j, from AMD's layout: those that hold column j of C/D.
  std::vector<int> line_lanes[16];
  double want_max[16], want_sum[16];
  for (int j = 0; j < 16; ++j) {
    for (int i = 0; i < 16; ++i) {
      const int lane = output_location(16, 16, i, j, 0).lane;
      if (std::find(line_lanes[j].begin(), line_lanes[j].end(), lane) == line_lanes[j].end())
        line_lanes[j].push_back(lane);
    }
    want_max[j] = -INFINITY, want_sum[j] = 0;
    for (int lane : line_lanes[j]) want_max[j] = std::fmax(want_max[j], mx[lane]), want_sum[j] += sum[lane];
  }
  const int steps = mfma::kLineSteps - (skip_last_step ? 1 : 0);
  for (int step = 0; step < steps; ++step) {
    float next_mx[kLanes], next_sum[kLanes];
    for (int lane = 0; lane < kLanes; ++lane) {
      const int partner = lane ^ mfma::line_xor(step);
      next_mx[lane] = std::fmax(mx[lane], mx[partner]);
      next_sum[lane] = sum[lane] + sum[partner];
    }
    std::memcpy(mx, next_mx, sizeof(mx));
    std::memcpy(sum, next_sum, sizeof(sum));
  }
  Result res;
  for (int j = 0; j < 16; ++j) {
    int lse_lanes = 0;
    for (int lane : line_lanes[j]) {
      if (!(mx[lane] == float(want_max[j]))) ++res.mismatches;
      if (!(sum[lane] == sum[line_lanes[j][0]])) ++res.mismatches;
      compare(res, sum[lane], want_sum[j], 1e-6 * want_sum[j] + 1e-30);
      lse_lanes += mfma::stores_line_lse(lane) ? 1 : 0;
    }
    if (lse_lanes != 1) ++res.mismatches;
  }
  return res;
}

int report(const char* what, const char* dtype, const Result& res, bool expect_pass) {
  const bool passed = res.mismatches == 0;
  const bool ok = passed == expect_pass;
  std::printf("%s %-4s %-58s %d mismatch(es), worst error %.3g x tolerance\n", ok ? "PASS" : "FAIL", dtype, what,
              res.mismatches, res.worst);
  return ok ? 0 : 1;
}

template <DType kType>
int check_dtype(const char* name, uint32_t seed) {
  std::mt19937 rng(seed);
  const Problem pr = make_problem(kType, rng);
  int failures = 0;
  failures += report("S^T = K Q^T (K tile, Q^T gathered, padded)", name, check_scores(kType, pr, false), true);
  failures += report("O^T = V^T P^T (V^T stored, P^T from S^T, split P)", name, check_output<kType>(pr, true), true);
  failures += report("control: K operand items swapped must fail", name, check_scores(kType, pr, true), false);
  failures += report("control: P rounded to the dtype must fail", name, check_output<kType>(pr, false), false);
  return failures;
}

}  // namespace

int main() {
  int failures = 0;
  for (uint32_t seed = 1; seed <= 3; ++seed) {
    failures += check_dtype<DType::BF16>("bf16", seed);
    failures += check_dtype<DType::F16>("f16", seed);
    std::mt19937 rng(seed);
    failures += report("line max/sum over the line's lanes, one LSE lane", "f32", check_lines(rng, false), true);
    failures += report("control: line reductions one step short must fail", "f32", check_lines(rng, true), false);
  }
  std::printf("mfma_layout_check: %s\n", failures == 0 ? "all passed" : "FAILED");
  return failures == 0 ? 0 : 1;
}
