#include "model/files.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "model/error.h"

namespace gpt2 {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot read (" + std::strerror(errno) + ")");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw InputError(path + ": read error");
  return std::move(buffer).str();
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  const std::string temporary = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw InputError(path + ": cannot write (" + std::strerror(errno) + ")");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::remove(temporary.c_str());
      throw InputError(path + ": write failed (" + std::strerror(errno) + ")");
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::remove(temporary.c_str());
    throw InputError(path + ": cannot rename the temporary file into place (" + reason + ")");
  }
}

std::string create_temporary_sibling_dir(const std::string& target) {
  namespace fs = std::filesystem;
  const fs::path t = fs::path(target).lexically_normal();
  const fs::path parent = t.has_parent_path() ? t.parent_path() : fs::path(".");
  std::string name = ".";  // appended piecewise: GCC 12 warns (-Wrestrict) on "." + string
  name += t.filename().string();
  name += ".tmp." + std::to_string(::getpid());
  const fs::path temporary = parent / name;
  std::error_code ec;
  fs::remove_all(temporary, ec);
  if (!fs::create_directories(temporary, ec) || ec)
    throw InputError(target + ": cannot create a temporary directory beside it (" +
                     (ec ? ec.message() : std::string("already exists")) + ")");
  return temporary.string();
}

std::string sha256_hex(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                   &EVP_MD_CTX_free);
  GPT2_CHECK(context != nullptr, "EVP_MD_CTX_new");
  GPT2_CHECK(EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) == 1, "sha256 init");
  GPT2_CHECK(EVP_DigestUpdate(context.get(), bytes.data(), bytes.size()) == 1, "sha256 update");
  GPT2_CHECK(EVP_DigestFinal_ex(context.get(), digest, &length) == 1, "sha256 final");
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

std::string sha256_file(const std::string& path) { return sha256_hex(read_file(path)); }

}  // namespace gpt2
