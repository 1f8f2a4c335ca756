#include "model/json_strict.h"

#include <utility>
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

namespace {

// Builds the document as nlohmann's own DOM parser does, and stops at the
// first key repeated within one object. Each key is looked up once in its
// object's std::map, so a header of n entries costs O(n log n). (nlohmann's
// callback parser, used here before, scans the parent object at the end of
// every child object: O(n^2) for n tensor entries; 30,000 took minutes.)
class StrictDomBuilder : public nlohmann::json_sax<json> {
 public:
  bool null() override { return add(nullptr); }
  bool boolean(bool value) override { return add(value); }
  bool number_integer(number_integer_t value) override { return add(value); }
  bool number_unsigned(number_unsigned_t value) override { return add(value); }
  bool number_float(number_float_t value, const string_t&) override { return add(value); }
  bool string(string_t& value) override { return add(std::move(value)); }
  bool binary(binary_t& value) override { return add(json::binary(std::move(value))); }
  bool start_object(std::size_t) override { return open(json::object()); }
  bool start_array(std::size_t) override { return open(json::array()); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool key(string_t& name) override {
    auto& members = open_.back()->get_ref<json::object_t&>();
    const auto [it, inserted] = members.emplace(name, nullptr);
    if (!inserted) {
      duplicate_ = name;
      return false;
    }
    member_ = &it->second;
    return true;
  }
  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception& error) override {
    error_ = error.what();
    return false;
  }

  json& root() { return root_; }
  const std::string& duplicate() const { return duplicate_; }
  const std::string& error() const { return error_; }

 private:
  // Places a value: the document itself, the next element of the open array,
  // or the member of the open object whose key came last.
  template <class Value>
  json* place(Value&& value) {
    if (open_.empty()) {
      root_ = json(std::forward<Value>(value));
      return &root_;
    }
    json& parent = *open_.back();
    if (parent.is_array()) {
      parent.get_ref<json::array_t&>().emplace_back(std::forward<Value>(value));
      return &parent.get_ref<json::array_t&>().back();
    }
    *member_ = json(std::forward<Value>(value));
    return member_;
  }
  template <class Value>
  bool add(Value&& value) {
    place(std::forward<Value>(value));
    return true;
  }
  bool open(json container) {
    open_.push_back(place(std::move(container)));
    return true;
  }
  bool close() {
    open_.pop_back();
    return true;
  }

  json root_;
  std::vector<json*> open_;  // the containers being filled, innermost last
  json* member_ = nullptr;   // the object member the next value goes to
  std::string duplicate_;
  std::string error_;
};

}  // namespace

json parse_strict_json(std::string_view text, const std::string& source) {
  if (const size_t nul = text.find('\0'); nul != std::string_view::npos)
    throw InputError(source + ": invalid JSON: NUL byte at offset " + std::to_string(nul));
  StrictDomBuilder builder;
  // strict = true: nothing but whitespace after the value; ignore_comments =
  // false: RFC 8259 only. The lexer rejects ill-formed UTF-8 inside strings.
  if (!json::sax_parse(text.begin(), text.end(), &builder, json::input_format_t::json, true,
                       false)) {
    if (!builder.duplicate().empty())
      throw InputError(source + ": duplicate key " + quote_for_message(builder.duplicate()));
    std::string what = builder.error();
    // nlohmann prefixes "[json.exception.parse_error.101] "; keep the rest.
    if (auto pos = what.find("] "); pos != std::string::npos) what = what.substr(pos + 2);
    throw InputError(source + ": invalid JSON: " + what);
  }
  return std::move(builder.root());
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
  if (!v.is_number())
    throw InputError(source + ": \"" + key + "\" must be a number, found " + v.dump());
  return v.get<double>();
}

std::string require_string(const json& object, const std::string& key, const std::string& source) {
  const json& v = require_key(object, key, source);
  if (!v.is_string())
    throw InputError(source + ": \"" + key + "\" must be a string, found " + v.dump());
  return v.get<std::string>();
}

}  // namespace gpt2
