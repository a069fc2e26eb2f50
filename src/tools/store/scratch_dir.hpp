// A private temporary directory (mkdtemp under the system's temp directory), removed with all it
// holds when the object goes: for tools that need a store or a log of their own for one run.
#pragma once

#include <filesystem>
#include <string_view>

namespace exchanged::tools {

class ScratchDir {
  public:
    // `prefix` starts the directory's name, e.g. "exchangectl-reconcile". Throws
    // std::system_error naming the pattern when the directory cannot be made.
    explicit ScratchDir(std::string_view prefix);
    ~ScratchDir();
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;

    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

}  // namespace exchanged::tools
