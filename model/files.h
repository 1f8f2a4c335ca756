// Small file helpers shared by the readers and writers.
#pragma once

#include <string>

namespace gpt2 {

// The whole file; InputError "<path>: cannot read (<reason>)" otherwise.
std::string read_file(const std::string& path);

// Writes `bytes` to PATH.tmp.<pid> and renames it onto `path`, so readers
// never see a half-written file. Throws InputError when the directory is not
// writable.
void write_file_atomic(const std::string& path, const std::string& bytes);

// An empty directory .<name>.tmp.<pid> beside `target` (a stale one from an
// earlier run of this pid is removed first), for writing a directory's
// files before it is renamed onto `target`. Returns its path; InputError
// naming `target` when it cannot be created.
std::string create_temporary_sibling_dir(const std::string& target);

// Lower-case hex SHA-256 of bytes / of a file.
std::string sha256_hex(const std::string& bytes);
std::string sha256_file(const std::string& path);

}  // namespace gpt2
