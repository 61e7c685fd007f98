#pragma once
// End-to-end helpers: start atb-mock-exchange on 127.0.0.1 port 0, read /__stats, run
// the downloader in-process or as the `atb` binary, and compare two caches.
#include "atb/fetch/errors.hpp"
#include "atb/fetch/preload.hpp"
#include "atb/store/year_file.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace atb::fetch::test {

inline std::string mock_exchange_bin() { return ATB_MOCK_EXCHANGE_BIN; }
inline std::string atb_bin() { return ATB_ATB_BIN; }
inline std::string verify_bin() { return ATB_VERIFY_BIN; }

inline pid_t spawn(std::vector<std::string> const& args, int* out_fd, bool quiet_stderr = true) {
  int fds[2] = {-1, -1};
  if (out_fd && ::pipe(fds) != 0) return -1;
  pid_t pid = ::fork();
  if (pid == 0) {
    if (out_fd) {
      ::dup2(fds[1], STDOUT_FILENO);
      ::close(fds[0]);
      ::close(fds[1]);
    } else {
      int devnull = ::open("/dev/null", O_WRONLY);
      ::dup2(devnull, STDOUT_FILENO);
    }
    if (quiet_stderr) {
      int devnull = ::open("/dev/null", O_WRONLY);
      ::dup2(devnull, STDERR_FILENO);
    }
    std::vector<char*> av;
    for (auto const& a : args) av.push_back(const_cast<char*>(a.c_str()));
    av.push_back(nullptr);
    ::execv(av[0], av.data());
    std::_Exit(127);
  }
  if (out_fd) {
    ::close(fds[1]);
    *out_fd = fds[0];
  }
  return pid;
}

inline int wait_exit(pid_t pid) {
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/// atb-mock-exchange as a child process; stopped in the destructor.
class simulator {
 public:
  explicit simulator(std::vector<std::string> extra) {
    std::vector<std::string> args{mock_exchange_bin(), "--port", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    int fd = -1;
    pid_ = spawn(args, &fd, false);
    std::string line;
    char c = 0;
    while (::read(fd, &c, 1) == 1 && c != '\n') line.push_back(c);
    fd_ = fd;
    if (line.rfind("listening ", 0) == 0) addr_ = line.substr(10);
  }
  ~simulator() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      wait_exit(pid_);
    }
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return !addr_.empty(); }
  std::string url() const { return "http://" + addr_; }
  std::uint16_t port() const { return static_cast<std::uint16_t>(std::stoi(addr_.substr(addr_.rfind(':') + 1))); }

  /// A counter of GET /__stats ("klines_requests", "status_429", …); -1 when absent.
  std::int64_t stat(std::string const& name) const {
    namespace http = boost::beast::http;
    boost::asio::io_context ioc;
    boost::beast::tcp_stream s(ioc);
    s.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port()));
    http::request<http::empty_body> req{http::verb::get, "/__stats", 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(s, req);
    boost::beast::flat_buffer b;
    http::response<http::string_body> res;
    http::read(s, b, res);
    auto const& body = res.body();
    auto const key = "\"" + name + "\":";
    auto p = body.find(key);
    if (p == std::string::npos) return -1;
    return std::stoll(body.substr(p + key.size()));
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string addr_;
};

struct temp_dir {
  std::filesystem::path path;
  explicit temp_dir(std::string const& tag) {
    static std::mt19937_64 rng{std::random_device{}()};
    path = std::filesystem::temp_directory_path() / ("atb_fetch_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(rng() % 1000000));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

inline preload_options quick_options(std::string const& url, std::filesystem::path const& dir) {
  preload_options o;
  o.base_url = url;
  o.cache_dir = dir;
  o.symbols = {atb::symbol::parse("BTCUSDT").value(), atb::symbol::parse("SOLUSDT").value()};
  o.intervals = {atb::interval::h4, atb::interval::d1};
  o.years = std::pair{2019, 2026};
  o.concurrency = 6;
  o.backoff = backoff_policy{20, 200, 8};
  o.http.read_timeout = std::chrono::milliseconds(1500);
  o.http.request_timeout = std::chrono::milliseconds(3000);
  return o;
}

inline std::string read_bytes(std::filesystem::path const& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Every year file of `a` and `b`: same names; same header fields (written_at only for
/// complete years) and identical rows; complete years byte-identical. Empty string = equal.
inline std::string compare_caches(std::filesystem::path const& a, std::filesystem::path const& b) {
  std::map<std::string, std::filesystem::path> fa, fb;
  for (auto const& e : std::filesystem::directory_iterator(a / "market_data"))
    if (e.path().extension() == ".atb") fa[e.path().filename().string()] = e.path();
  for (auto const& e : std::filesystem::directory_iterator(b / "market_data"))
    if (e.path().extension() == ".atb") fb[e.path().filename().string()] = e.path();
  if (fa.size() != fb.size()) return "file counts differ: " + std::to_string(fa.size()) + " vs " + std::to_string(fb.size());
  for (auto const& [name, pa] : fa) {
    auto it = fb.find(name);
    if (it == fb.end()) return "missing in second cache: " + name;
    auto ya = store::year_file::open(pa);
    auto yb = store::year_file::open(it->second);
    if (!ya || !yb) return "unreadable: " + name;
    auto const& ha = ya->header();
    auto const& hb = yb->header();
    std::string const what = store::key_string(ha.key);
    if (ha.rows != hb.rows || ha.flags != hb.flags || ha.first_open != hb.first_open || ha.last_open != hb.last_open)
      return what + ": headers differ (rows " + std::to_string(ha.rows) + " vs " + std::to_string(hb.rows) + ", flags " +
             std::to_string(ha.flags) + " vs " + std::to_string(hb.flags) + ")";
    kline_columns ka, kb;
    if (!ya->read(field_mask::all(), ka) || !yb->read(field_mask::all(), kb)) return what + ": unreadable rows";
    for (std::size_t i = 0; i < ka.size(); ++i)
      if (!kline_columns::rows_equal(ka, i, kb, i)) return what + ": row " + std::to_string(i) + " differs";
    if (ha.complete() && read_bytes(pa) != read_bytes(it->second)) return what + ": complete year files are not byte-identical";
  }
  return {};
}

}  // namespace atb::fetch::test
