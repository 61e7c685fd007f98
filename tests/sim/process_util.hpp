#pragma once
// Starts atb-mock-exchange as a child process and reads its "listening" line.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace atb::sim::test {

class child_process {
 public:
  explicit child_process(std::vector<std::string> args) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], STDOUT_FILENO);
      ::close(fds[0]);
      ::close(fds[1]);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      std::_Exit(127);
    }
    ::close(fds[1]);
    out_ = ::fdopen(fds[0], "r");
  }
  ~child_process() {
    if (pid_ > 0 && !waited_) {
      ::kill(pid_, SIGKILL);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
    if (out_) std::fclose(out_);
  }
  /// The first stdout line, without its newline ("" at EOF).
  std::string read_line() {
    std::string s;
    for (int c; (c = std::fgetc(out_)) != EOF && c != '\n';) s.push_back(static_cast<char>(c));
    return s;
  }
  /// Sends sig and returns the exit status (-1 if it did not exit normally).
  int stop(int sig) {
    ::kill(pid_, sig);
    int st = 0;
    ::waitpid(pid_, &st, 0);
    waited_ = true;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }

 private:
  pid_t pid_ = -1;
  std::FILE* out_ = nullptr;
  bool waited_ = false;
};

/// Port of "listening 127.0.0.1:PORT", 0 if the line has another shape.
inline std::uint16_t port_of(std::string const& line) {
  std::string const prefix = "listening 127.0.0.1:";
  if (line.rfind(prefix, 0) != 0) return 0;
  return static_cast<std::uint16_t>(std::stoul(line.substr(prefix.size())));
}

}  // namespace atb::sim::test
