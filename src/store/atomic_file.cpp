// Atomic file replacement: temp file in the same directory, fsync, rename, fsync dir.
#include "atb/store/year_file.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace atb::store {

namespace {
constexpr std::string_view temp_marker = ".tmp-";

error io_failure(std::string what, std::filesystem::path const& p, int err) {
  return error{store_errc::io_error, "cannot " + what + " " + p.string() + ": " + std::strerror(err) +
                                         "; check the path, its permissions and free disk space"};
}

bool write_all(int fd, char const* data, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}
}  // namespace

bool is_temp_file_name(std::string_view name) noexcept {
  auto pos = name.rfind(temp_marker);
  if (pos == std::string_view::npos || pos == 0) return false;
  return name.size() - pos - temp_marker.size() == 6;  // mkstemp's XXXXXX
}

result<void> atomic_write_file(std::filesystem::path const& path, std::string_view bytes) {
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  std::string tmpl = path.string() + std::string(temp_marker) + "XXXXXX";
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0) return io_failure("create a temporary file beside", path, errno);
  auto fail = [&](std::string what, int err) -> result<void> {
    ::close(fd);
    ::unlink(tmpl.c_str());
    return io_failure(std::move(what), path, err);
  };
  if (::fchmod(fd, 0644) != 0) return fail("set permissions of the temporary file for", errno);
  if (!write_all(fd, bytes.data(), bytes.size())) return fail("write", errno);
  if (::fsync(fd) != 0) return fail("fsync", errno);
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmpl.c_str());
    return io_failure("close", path, err);
  }
  if (::rename(tmpl.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmpl.c_str());
    return io_failure("rename a temporary file to", path, err);
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return io_failure("open the directory of", path, errno);
  int rc = ::fsync(dfd);
  int err = errno;
  ::close(dfd);
  if (rc != 0) return io_failure("fsync the directory of", path, err);
  return {};
}

}  // namespace atb::store
