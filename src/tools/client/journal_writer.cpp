#include "tools/client/journal_writer.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace exchanged::tools {

JournalWriter::JournalWriter(const std::string& path) : path_(path) {
    file_ = std::fopen(path.c_str(), "a");
    if (file_ == nullptr) {
        throw std::runtime_error("--journal: cannot open '" + path +
                                 "' for appending: " + std::strerror(errno));
    }
}

JournalWriter::~JournalWriter() {
    std::fclose(file_);
}

void JournalWriter::append(std::string& block) {
    if (block.empty()) {
        return;
    }
    {
        const std::lock_guard<std::mutex> lock(mutex_);
        if (std::fwrite(block.data(), 1, block.size(), file_) != block.size()) {
            throw std::runtime_error("--journal: writing '" + path_ +
                                     "' failed: " + std::strerror(errno));
        }
    }
    block.clear();
}

void JournalWriter::flush() {
    const std::lock_guard<std::mutex> lock(mutex_);
    std::fflush(file_);
}

}  // namespace exchanged::tools
