// Replays fuzz inputs without libFuzzer: every file named on the command line, and every
// file inside every directory named, is passed once to LLVMFuzzerTestOneInput.
// Arguments starting with '-' (libFuzzer flags) are ignored. Exit 0 when all inputs ran.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

static int run_file(std::filesystem::path const& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot read %s\n", p.c_str());
    return 1;
  }
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  return 0;
}

int main(int argc, char** argv) {
  std::size_t n = 0;
  int failures = 0;
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] == '-') continue;
    std::filesystem::path p(argv[i]);
    if (std::filesystem::is_directory(p)) {
      for (auto const& e : std::filesystem::recursive_directory_iterator(p))
        if (e.is_regular_file()) failures += run_file(e.path()), ++n;
    } else {
      failures += run_file(p), ++n;
    }
  }
  std::printf("replay: %zu inputs executed\n", n);
  return failures ? 1 : (n ? 0 : 1);
}
