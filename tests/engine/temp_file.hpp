// Scratch files and directories for tests, removed when the object goes out of scope.
#pragma once

#include <filesystem>
#include <string>

namespace exchanged::test {

class TempDir {
  public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    // Writes `text` to a file in the directory and returns its path.
    std::string write(const std::string& name, const std::string& text) const;

  private:
    std::filesystem::path path_;
};

}  // namespace exchanged::test
