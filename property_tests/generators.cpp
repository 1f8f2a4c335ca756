#include "property_tests/generators.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "model/checkpoint.h"
#include "model/error.h"
#include "model/init.h"
#include "model/tokens.h"

namespace gpt2::properties {

const char* weight_mode_name(WeightMode mode) {
  switch (mode) {
    case WeightMode::gpt2:
      return "gpt2";
    case WeightMode::large_activations:
      return "large_activations";
    case WeightMode::near_constant_rows:
      return "near_constant_rows";
  }
  return "?";
}

namespace {

// Streams of model/init.h used here, apart from seeded_weights' own (which
// counts up from 0, one per tensor): far above any tensor count.
constexpr uint64_t kRowLevelStream = 1'000'000;
constexpr uint64_t kRowNoiseStream = 1'000'001;

// x [rows, C]: row r becomes level_r + noise·n_rc, level_r ~ N(0, 0.02),
// n ~ N(0, 1); rows r ≡ 0 (mod 3) get no noise (variance exactly 0).
// Only one multiplication and one addition in double, then one rounding to
// float: the same bits everywhere (see model/init.h).
void make_rows_near_constant(std::vector<float>& x, int rows, int C, uint64_t seed,
                             uint64_t tensor) {
  constexpr double kLevel = 0.02, kNoise = 1e-5;
  for (int r = 0; r < rows; ++r) {
    const double level = kLevel * seeded_normal(seed, kRowLevelStream + tensor, r);
    for (int c = 0; c < C; ++c) {
      const uint64_t counter = static_cast<uint64_t>(r) * C + c;
      const double noise =
          r % 3 == 0 ? 0.0 : kNoise * seeded_normal(seed, kRowNoiseStream + tensor, counter);
      x[counter] = static_cast<float>(level + noise);
    }
  }
}

}  // namespace

Weights<float> generate_weights(const Config& config, uint64_t seed, WeightMode mode) {
  Weights<float> w = seeded_weights(config, seed);  // validates the config
  const int C = config.n_embd;
  switch (mode) {
    case WeightMode::gpt2:
      break;
    case WeightMode::large_activations:
      // c_attn weight [C, 3C]: columns 0 .. 2C-1 are q and k.
      for (auto& b : w.blocks) {
        for (int i = 0; i < C; ++i)
          for (int j = 0; j < 2 * C; ++j)
            b.attn_c_attn_weight[static_cast<size_t>(i) * 3 * C + j] *= 256.0f;
        for (float& v : b.mlp_c_fc_weight) v *= 32.0f;
      }
      break;
    case WeightMode::near_constant_rows:
      make_rows_near_constant(w.wte, config.vocab_size, C, seed, 0);
      make_rows_near_constant(w.wpe, config.n_ctx, C, seed, 1);
      break;
  }
  return w;
}

namespace {

// An int in [lo, hi] whose upper end grows with RapidCheck's size (0 .. 100):
// at size 0 only lo, from size 100 on the whole range. Shrinks toward lo.
rc::Gen<int> sized_range(int lo, int hi) {
  return rc::gen::withSize([lo, hi](int size) {
    const int top =
        lo + static_cast<int>((static_cast<int64_t>(hi - lo) * std::min(size, 100) + 99) / 100);
    return rc::gen::inRange(lo, top + 1);
  });
}

}  // namespace

rc::Gen<Config> gen_config(const ConfigLimits& limits) {
  using namespace rc;
  // Head count and head size are drawn; C = NH·HS. Configs with C below
  // limits.min_embd are redrawn (gen::suchThat retries at growing sizes).
  auto gen = gen::suchThat(
      gen::build<Config>(
          gen::set(&Config::n_layer, sized_range(limits.min_layers, limits.max_layers)),
          gen::set(&Config::n_head, sized_range(limits.min_heads, limits.max_heads)),
          gen::set(&Config::n_embd, sized_range(limits.min_head_size, limits.max_head_size)),
          gen::set(&Config::n_ctx, sized_range(limits.min_ctx, limits.max_ctx)),
          gen::set(&Config::vocab_size, sized_range(limits.min_vocab, limits.max_vocab)),
          gen::set(&Config::layer_norm_epsilon, gen::element(1e-5, 1e-6, 1e-4, 1e-3, 3e-6, 3e-4))),
      [limits](const Config& c) { return c.n_head * c.n_embd >= limits.min_embd; });
  // n_embd was drawn as the head size: C = NH·HS.
  return gen::map(gen, [](Config c) {
    c.n_embd *= c.n_head;
    c.activation = "gelu_new";
    return c;
  });
}

rc::Gen<std::vector<int>> gen_tokens(const Config& config, int min_length) {
  using namespace rc;
  const int V = config.vocab_size;
  const int lo = std::min(min_length, config.n_ctx);
  // oneOf shrinks toward its first choice; within a choice inRange shrinks to 0.
  const auto id =
      gen::weightedOneOf<int>({{2, gen::inRange(0, V)}, {1, gen::just(0)}, {1, gen::just(V - 1)}});
  return gen::mapcat(gen::inRange(lo, config.n_ctx + 1), [id](int length) {
    return gen::container<std::vector<int>>(static_cast<size_t>(length), id);
  });
}

rc::Gen<ModelCase> gen_model_case(const ModelLimits& limits) {
  using namespace rc;
  GPT2_CHECK(!limits.modes.empty(), "a ModelLimits needs at least one weight mode");
  const int min_tokens = limits.min_tokens;
  auto modes = limits.modes;
  return gen::mapcat(gen_config(limits.config), [min_tokens, modes](const Config& config) {
    return gen::build<ModelCase>(
        gen::set(&ModelCase::config, gen::just(config)),
        gen::set(&ModelCase::weight_seed,
                 gen::noShrink(gen::resize(100, gen::arbitrary<uint64_t>()))),
        gen::set(&ModelCase::mode, gen::elementOf(modes)),
        gen::set(&ModelCase::tokens, gen_tokens(config, min_tokens)));
  });
}

rc::Gen<BatchCase> gen_batch(const Config& config, int max_rows, int max_steps) {
  using namespace rc;
  const int top = std::min(max_steps, config.n_ctx - 1);
  return gen::mapcat(gen::inRange(0, top + 1), [config, max_rows](int steps) {
    const auto rows = gen::mapcat(gen::inRange(1, max_rows + 1), [config, steps](int n) {
      return gen::container<std::vector<std::vector<int>>>(static_cast<size_t>(n),
                                                           gen_tokens(config, steps + 1));
    });
    return gen::map(gen::pair(rows, gen::element(Padding::left, Padding::right)),
                    [steps](const std::pair<std::vector<std::vector<int>>, Padding>& p) {
                      BatchCase b;
                      b.rows = p.first;
                      b.steps = steps;
                      b.padding = p.second;
                      for (const auto& row : b.rows)
                        b.prompt_lengths.push_back(static_cast<int>(row.size()) - steps);
                      return b;
                    });
  });
}

std::string describe(const BatchCase& b) {
  std::string s = std::string(padding_name(b.padding)) + " padding, " + std::to_string(b.steps) +
                  " decode steps, rows [";
  for (size_t r = 0; r < b.rows.size(); ++r) {
    const std::vector<int> prompt(b.rows[r].begin(), b.rows[r].begin() + b.prompt_lengths[r]);
    const std::vector<int> rest(b.rows[r].begin() + b.prompt_lengths[r], b.rows[r].end());
    s +=
        (r ? "; " : "") + format_tokens(prompt) + (rest.empty() ? "" : " | " + format_tokens(rest));
  }
  return s + "]";
}

std::string describe(const Config& c) {
  std::ostringstream s;
  s << "L=" << c.n_layer << " NH=" << c.n_head << " HS=" << c.head_size() << " C=" << c.n_embd
    << " P=" << c.n_ctx << " V=" << c.vocab_size << " eps=" << c.layer_norm_epsilon;
  return s.str();
}

std::string describe(const ModelCase& m) {
  char seed[32];
  std::snprintf(seed, sizeof seed, "0x%016llx", static_cast<unsigned long long>(m.weight_seed));
  return describe(m.config) + " weights=" + weight_mode_name(m.mode) + " weight_seed=" + seed +
         " T=" + std::to_string(m.tokens.size()) + " tokens=[" + format_tokens(m.tokens) + "]";
}

void showValue(const ModelCase& model_case, std::ostream& os) { os << describe(model_case); }

}  // namespace gpt2::properties
