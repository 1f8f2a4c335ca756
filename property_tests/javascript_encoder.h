// GPT-2's JavaScript encoder (npm gpt-3-encoder's Encoder.js) in one node
// process that lives as long as this object: strings go to it one JSON line
// at a time and their ids come back one JSON line each
// (property_tests/gpt2_encoder.js). Starting node once per run, not per
// string, keeps thousands of comparisons within a second or two.
#pragma once

#include <string>
#include <vector>

namespace gpt2::properties {

class JavaScriptEncoder {
 public:
  // Starts `node driver package_dir`. Throws std::runtime_error when node
  // cannot be started.
  JavaScriptEncoder(const std::string& node, const std::string& driver,
                    const std::string& package_dir);
  ~JavaScriptEncoder();  // closes node's stdin and waits for it
  JavaScriptEncoder(const JavaScriptEncoder&) = delete;
  JavaScriptEncoder& operator=(const JavaScriptEncoder&) = delete;

  // Encoder.js's ids of `text` (UTF-8). Throws std::runtime_error when node
  // has died or answers something else than an array of ids.
  std::vector<int> encode(const std::string& text);

 private:
  int pid_ = -1;
  int to_node_ = -1;     // node's stdin
  int from_node_ = -1;   // node's stdout
  std::string pending_;  // bytes read past the last answer
};

}  // namespace gpt2::properties
