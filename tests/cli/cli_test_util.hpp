#pragma once
// Runs the built programs in a temp directory and captures exit code, stdout and stderr.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace atb_test {

inline std::filesystem::path const atb_bin = std::filesystem::path(ATB_BINARY_DIR) / "src/cli/atb";
inline std::filesystem::path const verify_bin = std::filesystem::path(ATB_BINARY_DIR) / "src/cli/atb-verify";
inline std::filesystem::path const shared_data = ATB_SHARED_DATA_DIR;

/// 'text' for /bin/sh, so that test paths never need escaping by hand.
inline std::string sh_quote(std::string const& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

inline std::string read_text(std::filesystem::path const& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_text(std::filesystem::path const& p, std::string const& s) {
  std::ofstream out(p, std::ios::binary);
  out << s;
  ASSERT_TRUE(out.good()) << p;
}

struct run_result {
  int code = -1;
  std::string out, err;
};

/// A fresh directory per test, removed afterwards; programs run with it as cwd and without
/// ATB_CACHE_DIR, so the default ./cache is inside it.
class cli_test : public ::testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    dir_ = std::filesystem::temp_directory_path() /
           ("atb-cli-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::filesystem::path const& dir() const { return dir_; }
  std::filesystem::path cache() const { return dir_ / "cache"; }

  /// Runs `program` with already-quoted `args` (use sh_quote for paths).
  run_result run(std::filesystem::path const& program, std::string const& args, std::string const& env = "") const {
    auto const out = dir_ / ".stdout", err = dir_ / ".stderr";
    std::string const cmd = "cd " + sh_quote(dir_.string()) + " && env -u ATB_CACHE_DIR " + env + " " +
                            sh_quote(program.string()) + " " + args + " >" + sh_quote(out.string()) + " 2>" +
                            sh_quote(err.string());
    int const status = std::system(cmd.c_str());
    run_result r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    r.out = read_text(out);
    r.err = read_text(err);
    return r;
  }
  run_result atb(std::string const& args, std::string const& env = "") const { return run(atb_bin, args, env); }
  run_result verify(std::string const& args, std::string const& env = "") const { return run(verify_bin, args, env); }

 private:
  std::filesystem::path dir_;
};

}  // namespace atb_test
