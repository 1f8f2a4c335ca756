// A team: the processes one reference pass is split across (MPI ranks,
// reference/mpi_team.h), tensor-parallel. Each rank owns a contiguous slice
// of the output columns of every projection and of lm_head, and a slice of
// the heads in attention; after each such op the slices are exchanged once
// (an all-gather), so every rank holds the whole activation again. LayerNorm,
// the residual adds and the embedding are cheap and run whole on every rank.
//
// Bit-identical to one process for any number of ranks: every output element
// is still computed by exactly one loop body with the same arithmetic in the
// same order (reference/parallel.h); ranks, like threads, only decide where.
// The numbers cross the wire exactly (RealCodec: an MPFR number's sign,
// exponent and significand limbs; never decimal text, never a double).
//
// Without MPI (or in one process) there is no team: Parallel::team() is
// nullptr, every slice is the whole range and share_columns does nothing.
#pragma once

#include <mpfr.h>

#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "model/error.h"
#include "reference/parallel.h"
#include "reference/weight_product.h"

namespace gpt2::reference {

class Team {
 public:
  virtual ~Team() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Every rank's `mine` (sizes[r] bytes from rank r) concatenated in rank
  // order into `all` on every rank: one collective.
  virtual void all_gather(const std::vector<uint8_t>& mine, std::vector<uint8_t>& all,
                          const std::vector<int64_t>& sizes) const = 0;
  // Bytes this rank has sent and received in all_gather so far, and the
  // collectives (for the measurements in the README).
  mutable int64_t bytes_sent = 0, bytes_received = 0, collectives = 0;
};

// The team the multiprecision passes of this process use when their
// Options name none, while a TeamScope is alive (nullptr otherwise): how a
// verb splits the truths deep inside oracle/ and fixtures/ (compute_reference,
// the certification) without every signature on the way naming a team. Set
// it only around work that every rank does identically: a pass timed to
// decide how often to run (calibrate) must not be split.
const Team* ambient_team();
class TeamScope {
 public:
  explicit TeamScope(const Team* team);
  ~TeamScope();
  TeamScope(const TeamScope&) = delete;
  TeamScope& operator=(const TeamScope&) = delete;

 private:
  const Team* previous_;
};

// The items [begin, end) of n that rank `rank` of `size` owns: contiguous,
// n·rank/size .. n·(rank+1)/size (sizes differ by at most one).
struct Slice {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
};
inline Slice slice_of(int64_t n, int rank, int size) {
  return {n * rank / size, n * (rank + 1) / size};
}

// The exact bytes of one Real, for the wire.
// MPFR numbers (Real50, Real100): a 4-byte kind (MPFR's custom interface:
// zero, inf, nan or regular, its sign the number's), an 8-byte exponent and
// the significand's limbs, as many as the precision takes; the receiver sets
// the same fields in its number of the same precision. float and double:
// their bytes.
template <class Real>
struct RealCodec {
  static constexpr bool kMpfr = is_mpfr_v<Real>;
  static size_t bytes() {
    if constexpr (kMpfr)
      return 4 + 8 + mpfr_custom_get_size(mpfr_get_prec(Real().backend().data()));
    else
      return sizeof(Real);
  }
  static void pack(const Real& x, uint8_t* out) {
    if constexpr (kMpfr) {
      const mpfr_srcptr p = x.backend().data();
      const int32_t kind = mpfr_custom_get_kind(p);
      const int64_t exponent = mpfr_custom_get_exp(p);
      std::memcpy(out, &kind, 4);
      std::memcpy(out + 4, &exponent, 8);
      std::memcpy(out + 12, mpfr_custom_get_significand(p), bytes() - 12);
    } else {
      static_assert(std::is_trivially_copyable_v<Real>, "a Real the wire can carry");
      std::memcpy(out, &x, sizeof(Real));
    }
  }
  static void unpack(const uint8_t* in, Real& x) {
    if constexpr (kMpfr) {
      const mpfr_ptr p = x.backend().data();
      int32_t kind;
      int64_t exponent;
      std::memcpy(&kind, in, 4);
      std::memcpy(&exponent, in + 4, 8);
      void* significand = mpfr_custom_get_significand(p);
      std::memcpy(significand, in + 12, bytes() - 12);
      mpfr_custom_init_set(p, kind, static_cast<mpfr_exp_t>(exponent), mpfr_get_prec(p),
                           significand);
    } else {
      std::memcpy(&x, in, sizeof(Real));
    }
  }
};

// The columns [begin, end) of a [rows, width] matrix that rank r owns when
// the columns are cut into groups of `granule` and the groups sliced.
inline Slice owned_columns(int width, int granule, int rank, int size) {
  const Slice groups = slice_of((width + granule - 1) / granule, rank, size);
  return {std::min<int64_t>(width, groups.begin * granule),
          std::min<int64_t>(width, groups.end * granule)};
}

// y: [rows, width]. On entry each rank holds its owned_columns (granule);
// on return every rank holds every column, exchanged in one all_gather.
template <class Real>
void share_columns(const Team& team, std::vector<Real>& y, int rows, int width, int granule) {
  GPT2_CHECK(y.size() == static_cast<size_t>(rows) * width,
             "share_columns: y is not [rows, width]");
  const size_t item = RealCodec<Real>::bytes();
  std::vector<int64_t> sizes(team.size());
  for (int r = 0; r < team.size(); ++r)
    sizes[r] = static_cast<int64_t>(owned_columns(width, granule, r, team.size()).size()) * rows *
               static_cast<int64_t>(item);
  const Slice own = owned_columns(width, granule, team.rank(), team.size());
  std::vector<uint8_t> mine(static_cast<size_t>(sizes[team.rank()]));
  uint8_t* out = mine.data();
  for (int t = 0; t < rows; ++t)
    for (int64_t j = own.begin; j < own.end; ++j, out += item)
      RealCodec<Real>::pack(y[static_cast<size_t>(t) * width + j], out);
  std::vector<uint8_t> all;
  team.all_gather(mine, all, sizes);
  const uint8_t* in = all.data();
  for (int r = 0; r < team.size(); ++r) {
    const Slice cols = owned_columns(width, granule, r, team.size());
    if (r == team.rank()) {
      in += sizes[r];
      continue;
    }
    for (int t = 0; t < rows; ++t)
      for (int64_t j = cols.begin; j < cols.end; ++j, in += item)
        RealCodec<Real>::unpack(in, y[static_cast<size_t>(t) * width + j]);
  }
}

// The items of n this process computes in a loop run with `parallel`: its
// rank's slice in a team, all of them alone.
inline Slice owned_slice(const Parallel& parallel, int64_t n) {
  const Team* team = parallel.team();
  return team ? slice_of(n, team->rank(), team->size()) : Slice{0, n};
}

// share_columns on parallel's team; nothing alone.
template <class Real>
void share_owned_columns(const Parallel& parallel, std::vector<Real>& y, int rows, int width,
                         int granule) {
  if (parallel.team()) share_columns(*parallel.team(), y, rows, width, granule);
}

}  // namespace gpt2::reference
