#include "model/json_strict.h"

#include <set>
#include <vector>

#include "model/error.h"

namespace gpt2 {

using nlohmann::json;

std::string quote_for_message(std::string_view text) {
  std::string out = "'";
  size_t shown = text.size();
  if (shown > kMaxQuotedBytes) {
    shown = kMaxQuotedBytes;
    while (shown > 0 && (static_cast<unsigned char>(text[shown]) & 0xc0) == 0x80) --shown;
  }
  static const char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < shown; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (shown < text.size()) out += "...";
  return out + "'";
}

json parse_strict_json(std::string_view text, const std::string& source) {
  if (const size_t nul = text.find('\0'); nul != std::string_view::npos)
    throw InputError(source + ": invalid JSON: NUL byte at offset " + std::to_string(nul));
  // One set of seen keys per open object; a repeated key is an error.
  std::vector<std::set<std::string>> seen_keys;
  std::string duplicate;
  json::parser_callback_t on_event = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        seen_keys.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!seen_keys.empty()) seen_keys.pop_back();
        break;
      case json::parse_event_t::key:
        if (!seen_keys.empty() && !seen_keys.back().insert(parsed.get<std::string>()).second &&
            duplicate.empty())
          duplicate = parsed.get<std::string>();
        break;
      default:
        break;
    }
    return true;
  };
  json value;
  try {
    // allow_exceptions = true, ignore_comments = false: RFC 8259 only. The
    // lexer rejects ill-formed UTF-8 inside strings.
    value = json::parse(text.begin(), text.end(), on_event, true, false);
  } catch (const json::exception& e) {
    std::string what = e.what();
    // nlohmann prefixes "[json.exception.parse_error.101] "; keep the rest.
    if (auto pos = what.find("] "); pos != std::string::npos) what = what.substr(pos + 2);
    throw InputError(source + ": invalid JSON: " + what);
  }
  if (!duplicate.empty()) throw InputError(source + ": duplicate key " + quote_for_message(duplicate));
  return value;
}

const json& require_key(const json& object, const std::string& key, const std::string& source) {
  if (!object.is_object()) throw InputError(source + ": expected a JSON object");
  auto it = object.find(key);
  if (it == object.end()) throw InputError(source + ": missing key \"" + key + "\"");
  return *it;
}

int64_t require_int(const json& object, const std::string& key, const std::string& source) {
  const json& v = require_key(object, key, source);
  if (v.is_number_unsigned()) {
    if (v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      throw InputError(source + ": \"" + key + "\" is too large");
    return static_cast<int64_t>(v.get<uint64_t>());
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  throw InputError(source + ": \"" + key + "\" must be an integer, found " + v.dump());
}

double require_number(const json& object, const std::string& key, const std::string& source) {
  const json& v = require_key(object, key, source);
  if (!v.is_number()) throw InputError(source + ": \"" + key + "\" must be a number, found " + v.dump());
  return v.get<double>();
}

std::string require_string(const json& object, const std::string& key, const std::string& source) {
  const json& v = require_key(object, key, source);
  if (!v.is_string()) throw InputError(source + ": \"" + key + "\" must be a string, found " + v.dump());
  return v.get<std::string>();
}

}  // namespace gpt2
