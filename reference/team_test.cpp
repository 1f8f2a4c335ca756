// A team of ranks (reference/team.h) without MPI: N threads of this process,
// each one rank, exchanging through memory. The pass split N ways must be
// the same numbers as the pass alone, for N that divides the work and N
// that does not; the numbers must survive the wire exactly.
#include "reference/team.h"

#include <gtest/gtest.h>

#include <barrier>
#include <limits>
#include <thread>

#include "model/checkpoint.h"
#include "reference/forward.h"

namespace gpt2::reference {
namespace {

// The ranks of one team, each a thread; all_gather meets at a barrier.
class ThreadTeams {
 public:
  explicit ThreadTeams(int size) : barrier_(size), slots_(size) {
    for (int r = 0; r < size; ++r) ranks_.emplace_back(new Rank(*this, r));
  }
  const Team& rank(int r) const { return *ranks_[r]; }

 private:
  struct Rank : Team {
    Rank(ThreadTeams& teams, int rank) : teams(teams), r(rank) {}
    int rank() const override { return r; }
    int size() const override { return static_cast<int>(teams.slots_.size()); }
    void all_gather(const std::vector<uint8_t>& mine, std::vector<uint8_t>& all,
                    const std::vector<int64_t>& sizes) const override {
      EXPECT_EQ(static_cast<int64_t>(mine.size()), sizes[r]);
      teams.slots_[r] = mine;
      teams.barrier_.arrive_and_wait();
      all.clear();
      for (const auto& slot : teams.slots_) all.insert(all.end(), slot.begin(), slot.end());
      teams.barrier_.arrive_and_wait();  // nobody writes a slot before all have read
      bytes_sent += sizes[r];
      bytes_received += static_cast<int64_t>(all.size()) - sizes[r];
      ++collectives;
    }
    ThreadTeams& teams;
    int r;
  };
  std::barrier<> barrier_;
  std::vector<std::vector<uint8_t>> slots_;
  std::vector<std::unique_ptr<Rank>> ranks_;
};

template <class Real>
bool same_number(const Real& a, const Real& b) {
  using boost::multiprecision::isnan;
  using boost::multiprecision::signbit;
  if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
  return a == b && signbit(a) == signbit(b);
}

TEST(Team, SlicesCoverEveryItemOnceAndDifferByAtMostOne) {
  for (int n : {0, 1, 2, 5, 12, 25})
    for (int size : {1, 2, 3, 7}) {
      int64_t next = 0;
      for (int r = 0; r < size; ++r) {
        const Slice s = slice_of(n, r, size);
        EXPECT_EQ(s.begin, next);
        EXPECT_LE(s.size(), (n + size - 1) / size);
        next = s.end;
      }
      EXPECT_EQ(next, n);
    }
  // Columns in groups: the last group may be short.
  EXPECT_EQ(owned_columns(150, 64, 0, 2).end, 64);
  EXPECT_EQ(owned_columns(150, 64, 1, 2).begin, 64);
  EXPECT_EQ(owned_columns(150, 64, 1, 2).end, 150);
  EXPECT_EQ(owned_columns(48, 64, 1, 3).size(), 0);  // a rank may own nothing
}

TEST(Team, MultiprecisionNumbersCrossTheWireExactly) {
  std::vector<Real50> values = {Real50(0),
                                -Real50(0),
                                Real50(1) / 3,
                                -Real50(2) / 7,
                                Real50("1e-300") / 3,
                                Real50("1e300") * 7,
                                std::numeric_limits<Real50>::infinity(),
                                -std::numeric_limits<Real50>::infinity(),
                                std::numeric_limits<Real50>::quiet_NaN()};
  std::vector<uint8_t> wire(RealCodec<Real50>::bytes());
  EXPECT_EQ(wire.size(), 4u + 8u + 3u * 8u);  // 168 bits: three 64-bit limbs
  for (const Real50& x : values) {
    RealCodec<Real50>::pack(x, wire.data());
    Real50 y = 12345;
    RealCodec<Real50>::unpack(wire.data(), y);
    EXPECT_TRUE(same_number(x, y)) << x;
    if (!boost::multiprecision::isnan(x)) {
      EXPECT_EQ(y + 1, x + 1);  // y is a working number, not only equal bits
    }
  }
  Real100 z = Real100(1) / 3, w;
  std::vector<uint8_t> wide(RealCodec<Real100>::bytes());
  RealCodec<Real100>::pack(z, wide.data());
  RealCodec<Real100>::unpack(wide.data(), w);
  EXPECT_EQ(z, w);
}

// forward<Real> split across `size` ranks, each in its own thread: rank 0's
// trace (every rank holds the whole trace).
template <class Real>
std::vector<Trace<Real>> split_forward(const Weights<float>& weights,
                                       const std::vector<int>& tokens, Options options, int size) {
  ThreadTeams teams(size);
  std::vector<Trace<Real>> traces(size);
  std::vector<std::thread> threads;
  for (int r = 0; r < size; ++r)
    threads.emplace_back([&, r, options]() mutable {
      options.team = &teams.rank(r);
      traces[r] = forward<Real>(weights, tokens, options);
      mpfr_free_cache2(MPFR_FREE_LOCAL_CACHE);  // this thread's MPFR caches, as Parallel does
    });
  for (auto& t : threads) t.join();
  return traces;
}

template <class Real>
void expect_same_trace(const Trace<Real>& a, const Trace<Real>& b, const std::string& what) {
  std::vector<const std::vector<Real>*> ta, tb;
  std::vector<std::string> names;
  for_each_trace_tensor(a, [&](const std::string& name, const std::vector<Real>& t, const Shape&) {
    ta.push_back(&t);
    names.push_back(name);
  });
  for_each_trace_tensor(
      b, [&](const std::string&, const std::vector<Real>& t, const Shape&) { tb.push_back(&t); });
  ASSERT_EQ(ta.size(), tb.size());
  for (size_t i = 0; i < ta.size(); ++i) {
    ASSERT_EQ(ta[i]->size(), tb[i]->size()) << what << " " << names[i];
    for (size_t j = 0; j < ta[i]->size(); ++j)
      ASSERT_TRUE(same_number((*ta[i])[j], (*tb[i])[j]))
          << what << " " << names[i] << "[" << j << "]";
  }
}

TEST(Team, TheSplitPassIsTheSamePassForEveryRankCount) {
  // small: 4 heads, 3C = 192 and 4C = 256 columns (3 and 4 blocks of 64),
  // V = 512 (8 blocks): 2 ranks split everything evenly, 3 do not.
  const Weights<float> weights = preset_weights("small");
  const std::vector<int> tokens = {3, 0, 511, 17, 42};
  for (Mode mode : {Mode::full, Mode::incremental}) {
    Options options;
    options.threads = 1;
    options.mode = mode;
    options.trace_level = TraceLevel::ops;
    const Trace<Real50> alone = forward<Real50>(weights, tokens, options);
    for (int size : {2, 3}) {
      const auto traces = split_forward<Real50>(weights, tokens, options, size);
      for (int r = 0; r < size; ++r)
        expect_same_trace(alone, traces[r],
                          std::string(mode_name(mode)) + ", rank " + std::to_string(r) + " of " +
                              std::to_string(size));
    }
  }
}

TEST(Team, OneExchangePerProjectionAttentionAndLogits) {
  const Weights<float> weights = preset_weights("tiny");
  ThreadTeams teams(2);
  Options options;
  options.threads = 1;
  std::vector<int64_t> collectives(2), received(2);
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r)
    threads.emplace_back([&, r] {
      Options o = options;
      o.team = &teams.rank(r);
      forward<Real50>(weights, {1, 2, 3}, o);
      collectives[r] = teams.rank(r).collectives;
      received[r] = teams.rank(r).bytes_received;
      mpfr_free_cache2(MPFR_FREE_LOCAL_CACHE);
    });
  for (auto& t : threads) t.join();
  // Per block: qkv, attention, its projection, c_fc with gelu, the MLP's
  // projection; then the logits.
  const int L = weights.config.n_layer;
  EXPECT_EQ(collectives[0], 5 * L + 1);
  EXPECT_EQ(collectives[1], 5 * L + 1);
  EXPECT_GT(received[0] + received[1], 0);
}

}  // namespace
}  // namespace gpt2::reference
