// Strict JSON parsing shared by every parser (safetensors headers,
// config.json, case.json): RFC 8259 only (no comments, no NaN, no trailing
// commas), valid UTF-8, no NUL byte anywhere (nlohmann::json would stop
// reading at one and accept what precedes it), and a duplicate key in any
// object is an error (nlohmann::json alone would silently keep the last one).
#pragma once

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace gpt2 {

// Throws InputError "<source>: <what is wrong>" on any violation.
nlohmann::json parse_strict_json(std::string_view text, const std::string& source);

// `text` quoted for a one-line error message: 'text', with control bytes
// written as \xNN and anything past kMaxQuotedBytes cut (at a UTF-8
// character boundary) and marked "...": a hostile file may hold
// megabyte-long names, and the message must stay one readable line.
inline constexpr size_t kMaxQuotedBytes = 120;
std::string quote_for_message(std::string_view text);

// Typed field access for parsers: each throws InputError naming the source
// and the key when the key is missing or has the wrong type or range.
const nlohmann::json& require_key(const nlohmann::json& object, const std::string& key,
                                  const std::string& source);
int64_t require_int(const nlohmann::json& object, const std::string& key,
                    const std::string& source);
double require_number(const nlohmann::json& object, const std::string& key,
                      const std::string& source);
std::string require_string(const nlohmann::json& object, const std::string& key,
                           const std::string& source);

// For writers: x as a JSON number, or null where x is NaN or infinite (JSON
// has no such numbers; every report and case file writes them as null).
inline nlohmann::ordered_json number_or_null(double x) {
  if (std::isfinite(x)) return x;
  return nullptr;
}

}  // namespace gpt2
