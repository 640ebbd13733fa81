// defines: nothing; it must be the first include of every .cu file (its own include block, so
// clang-format keeps it first). fmt 9 turns its constexpr support off when it sees __NVCC__,
// which leaves its consteval format-string check calling non-constexpr functions, and nvcc
// rejects that. Forcing FMT_USE_CONSTEXPR=1 keeps the compile-time format checks working in .cu
// files. The build may pass -DFMT_USE_CONSTEXPR=1 to nvcc instead; then this does nothing.
#pragma once

#ifndef FMT_USE_CONSTEXPR
#define FMT_USE_CONSTEXPR 1
#endif
