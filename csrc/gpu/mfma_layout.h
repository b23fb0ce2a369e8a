// Register layout of the MFMA instructions the HIP prefill kernel uses, and the fragment loads it builds on them.
// Host and device code: test/native/mfma_layout_check.cpp runs these functions through an emulation of the
// instructions written from AMD's documentation and checks the products against a plain matrix multiply.
//
// Instructions: v_mfma_f32_16x16x16bf16_1k and v_mfma_f32_16x16x16f16 on gfx90a (CDNA2), the same operations named
// v_mfma_f32_16x16x16_bf16 / v_mfma_f32_16x16x16_f16 on gfx940-942 (CDNA3); clang builtins
// __builtin_amdgcn_mfma_f32_16x16x16bf16_1k / __builtin_amdgcn_mfma_f32_16x16x16f16 for both. D = A B + C with A
// 16 x 16 (M x K), B 16 x 16 (K x N), C and D 16 x 16 f32, one block, over the 64 lanes of a wavefront. Each lane
// holds 4 elements ("items") of A and of B in two 32-bit registers (item e: register e / 2, low half first) and 4
// f32 registers of C/D:
//   A[i][k]: lane i + 16 * (k / 4), item k % 4;   B[k][j]: lane j + 16 * (k / 4), item k % 4;
//   C/D[i][j]: lane j + 16 * (i / 4), register i % 4.
// Source: AMD Matrix Instruction Calculator (github.com/ROCm/amd_matrix_instruction_calculator, matrix_calculator.py:
// the CDNA2 entries of both instructions, M = N = K = 16, blocks = 1, and InstCalcGfx9's input and output
// register/lane formulas, which it applies to CDNA1 and CDNA2 alike). gfx940 encodes the same operations under the
// new names (LLVM defines its MFMA encodings on the gfx90a pseudo-instructions, reviews.llvm.org/D121741), and
// hipcc 5.2.3 emits them from the same builtins for both targets.
#pragma once
#include <cstdint>
#include <cstring>

#include "gpu/p_split.h"
#include "gqa/dtype.h"

namespace gqa {
namespace gpu {
namespace mfma {

constexpr int kWaveLanes = 64;
constexpr int kTile = 16;     // M = N = K
constexpr int kAccRegs = 4;   // C/D registers per lane

// The "line" of lane: the row of A, the column of B and of C/D that it holds.
GQA_HOST_DEVICE int lane_line(int lane) { return lane % 16; }
// k (A's column, B's row) of operand item `item` of lane.
GQA_HOST_DEVICE int operand_k(int lane, int item) { return 4 * (lane / 16) + item; }
// Row of C/D register `reg` of lane.
GQA_HOST_DEVICE int acc_row(int lane, int reg) { return 4 * (lane / 16) + reg; }

// One lane's A or B operand: items 0, 1 in reg[0] (low half first), items 2, 3 in reg[1].
struct Operand {
  uint32_t reg[2];
};

// Lane's operand from a row-major 16-bit tile whose rows are the operand's lines (A's rows, B's columns) and whose
// columns are its k: items 0-3 are 4 consecutive elements of row lane_line(lane) from column operand_k(lane, 0),
// one 8-byte read. `tile` points at the 16 x 16 block's first element; pitch (elements) keeps rows 8-byte aligned.
GQA_HOST_DEVICE Operand load_operand(const uint16_t* tile, int pitch, int lane) {
  Operand a;
  memcpy(&a, __builtin_assume_aligned(tile + lane_line(lane) * pitch + operand_k(lane, 0), 8), sizeof(a));
  return a;
}

// Lane's operand from a 16-bit row in memory: the row of the lane's line, its elements `stride` apart, the first
// len of them loaded and the rest zeros (load_pair); items 0-3 are elements d0 + operand_k(lane, 0..3).
GQA_HOST_DEVICE Operand gather_operand(int lane, const uint16_t* row, int64_t stride, int len, int d0) {
  const int k = d0 + operand_k(lane, 0);
  return Operand{{load_pair(row, stride, len, k), load_pair(row, stride, len, k + 2)}};
}

// Stores one piece of a row-major 16-bit tile, elements [c0, c0 + 8) of row r packed as pairs (low half first, as
// load_kv_tile hands them over), into the transposed tile (row-major, `pitch` elements a row): element c of row r
// goes to row c, column r.
GQA_HOST_DEVICE void store_transposed(uint16_t* tile, int pitch, int r, int c0, const uint32_t (&pairs)[4]) {
#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
#pragma unroll
#endif
  for (int e = 0; e < 8; ++e) tile[(c0 + e) * pitch + r] = uint16_t(pairs[e / 2] >> (16 * (e % 2)));
}

// Reductions over the 4 lanes that hold one line (lanes lane_line + 16 n): kLineSteps exchanges, step s pairing
// each lane with lane ^ line_xor(s) (16, then 32), leave every one of them with the result over all 4.
constexpr int kLineSteps = 2;
GQA_HOST_DEVICE int line_xor(int step) { return 16 << step; }

// Whether lane stores its line's LSE: exactly one of the line's 4 lanes (they all hold the same value).
GQA_HOST_DEVICE bool stores_line_lse(int lane) { return acc_row(lane, 0) == 0; }

// The prefill kernel's two products per 16 query rows, computed transposed so that every lane works for one query
// (lane_line) throughout:
//   S^T (keys x queries)  = K (keys x dims, A from the [key][dim] tile) . Q^T (B: lane's query row, dims in k);
//   O^T (dims x queries) += V^T (dims x keys, A from the [dim][key] tile) . P^T (B: keys in k).
// P^T's B operand is the S^T accumulator itself: register r of S^T holds key acc_row(lane, r), and B item r holds
// k = operand_k(lane, r), the same key, so the softmax weights feed P V without moving between lanes.

// The B operands of P^T for one key block from the S^T accumulator registers holding P, as the terms of p_split.h
// (the tail terms scaled by kTailScale).
template <DType kType>
GQA_HOST_DEVICE void split_p_operand(const float (&acc)[kAccRegs], Operand (&terms)[PSplit<kType>::kTerms]) {
  uint32_t lo[PSplit<kType>::kTerms], hi[PSplit<kType>::kTerms];
  split_p_pair<kType>(acc[0], acc[1], lo);
  split_p_pair<kType>(acc[2], acc[3], hi);
  for (int t = 0; t < PSplit<kType>::kTerms; ++t) terms[t] = Operand{{lo[t], hi[t]}};
}

}  // namespace mfma
}  // namespace gpu
}  // namespace gqa
