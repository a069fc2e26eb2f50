#include "tools/store/pg_client_tools.hpp"

#include <fcntl.h>
#include <libpq-fe.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <system_error>

#include "store/postgres_dsn.hpp"
#include "tools/store/scratch_dir.hpp"

extern char** environ;

namespace exchanged::tools {
namespace {

namespace fs = std::filesystem;

struct ProcessOutcome {
    int status = 0;  // the exit code; 128 + the signal when a signal ended it
    std::string output;
};

// Runs argv[0] (a path) with `environment` added to ours, stdout and stderr into `output`.
ProcessOutcome run_process(const std::vector<std::string>& argv,
                           const std::vector<std::string>& environment, const fs::path& output) {
    std::vector<char*> args;
    for (const std::string& arg : argv) {
        args.push_back(const_cast<char*>(arg.c_str()));
    }
    args.push_back(nullptr);
    std::vector<char*> env;
    for (const std::string& added : environment) {
        env.push_back(const_cast<char*>(added.c_str()));
    }
    for (char** e = environ; *e != nullptr; ++e) {
        bool replaced = false;
        for (const std::string& added : environment) {
            const std::size_t name = added.find('=') + 1;
            replaced = replaced || std::strncmp(*e, added.c_str(), name) == 0;
        }
        if (!replaced) {
            env.push_back(*e);
        }
    }
    env.push_back(nullptr);

    const int out = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) {
        throw std::system_error(errno, std::generic_category(), "create " + output.string());
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
        const int error = errno;
        ::close(out);
        throw std::system_error(error, std::generic_category(), "fork for " + argv[0]);
    }
    if (pid == 0) {
        const int null = ::open("/dev/null", O_RDONLY);
        if (null < 0 || ::dup2(null, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0) {
            ::_exit(127);
        }
        ::execve(args[0], args.data(), env.data());
        // Only async-signal-safe calls between fork and exec: the parent may have threads.
        static constexpr char kExecFailed[] = "exec failed\n";
        (void)!::write(2, kExecFailed, sizeof kExecFailed - 1);
        ::_exit(127);
    }
    ::close(out);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            throw std::system_error(errno, std::generic_category(), "wait for " + argv[0]);
        }
    }
    ProcessOutcome outcome;
    outcome.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::ifstream in(output, std::ios::binary);
    outcome.output.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return outcome;
}

// The last `count` non-empty lines of `text`, joined by " / ".
std::string last_lines(const std::string& text, std::size_t count) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) {
            end = text.size();
        }
        if (end > start) {
            lines.push_back(text.substr(start, end - start));
        }
        start = end + 1;
    }
    std::string out;
    for (std::size_t i = lines.size() > count ? lines.size() - count : 0; i < lines.size(); ++i) {
        out += (out.empty() ? "" : " / ") + lines[i];
    }
    return out.empty() ? "(it printed nothing)" : out;
}

std::optional<std::string> dsn_password(const std::string& dsn) {
    char* error = nullptr;
    std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(
        PQconninfoParse(dsn.c_str(), &error), &PQconninfoFree);
    if (!options) {
        PQfreemem(error);
        return std::nullopt;
    }
    for (const PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
        if (std::strcmp(o->keyword, "password") == 0 && o->val != nullptr && *o->val != '\0') {
            return std::string(o->val);
        }
    }
    return std::nullopt;
}

// A password file matching any server, for one password: ':' and '\' escaped as .pgpass wants.
void write_password_file(const fs::path& file, const std::string& password) {
    std::string line = "*:*:*:*:";
    for (const char c : password) {
        if (c == ':' || c == '\\') {
            line += '\\';
        }
        line += c;
    }
    line += '\n';
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        throw std::system_error(errno, std::generic_category(), "create " + file.string());
    }
    const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    ::close(fd);
    if (!written) {
        throw std::runtime_error("cannot write the password file " + file.string());
    }
}

}  // namespace

int pg_tool_major(const std::string& version_line) {
    const std::size_t at = version_line.find("(PostgreSQL) ");
    if (at == std::string::npos) {
        return 0;
    }
    return std::atoi(version_line.c_str() + at + 13);
}

std::vector<fs::path> pg_tool_dirs(int server_major) {
    std::vector<fs::path> dirs{"/usr/lib/postgresql/" + std::to_string(server_major) + "/bin"};
    const char* path = std::getenv("PATH");
    std::string rest = path != nullptr ? path : "";
    while (!rest.empty()) {
        const std::size_t colon = rest.find(':');
        const std::string dir = rest.substr(0, colon);
        if (!dir.empty()) {
            dirs.emplace_back(dir);
        }
        rest = colon == std::string::npos ? "" : rest.substr(colon + 1);
    }
    return dirs;
}

fs::path find_pg_tool(const std::string& tool, int server_major,
                      const std::vector<fs::path>& dirs) {
    const ScratchDir scratch("exchangectl-pg-tool");
    std::string found;
    for (const fs::path& dir : dirs) {
        const fs::path candidate = dir / tool;
        if (::access(candidate.c_str(), X_OK) != 0) {
            continue;
        }
        const ProcessOutcome version =
            run_process({candidate.string(), "--version"}, {}, scratch.path() / "version");
        const int major = version.status == 0 ? pg_tool_major(version.output) : 0;
        if (major == server_major) {
            return candidate;
        }
        found += (found.empty() ? "" : ", ") + candidate.string() + " is " +
                 (major > 0 ? "version " + std::to_string(major)
                            : "not a PostgreSQL client (" + last_lines(version.output, 1) + ")");
    }
    const std::string install = "install postgresql-client-" + std::to_string(server_major) +
                                " (Debian) so that " + tool + " " + std::to_string(server_major) +
                                " is in /usr/lib/postgresql/" + std::to_string(server_major) +
                                "/bin or on PATH";
    if (found.empty()) {
        throw std::runtime_error(tool + " not found, and the server is PostgreSQL " +
                                 std::to_string(server_major) + ": " + install);
    }
    throw std::runtime_error("no " + tool + " of the server's major version " +
                             std::to_string(server_major) + " (" + found + "): " + install);
}

std::string run_pg_tool(const fs::path& tool, const std::vector<std::string>& args,
                        const std::string& dsn) {
    const ScratchDir scratch("exchangectl-pg-tool");
    std::vector<std::string> environment;
    if (const std::optional<std::string> password = dsn_password(dsn)) {
        const fs::path file = scratch.path() / "pgpass";
        write_password_file(file, *password);
        environment.push_back("PGPASSFILE=" + file.string());
    }
    std::vector<std::string> argv{tool.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--dbname=" + store::redact_dsn(dsn));
    const ProcessOutcome outcome = run_process(argv, environment, scratch.path() / "output");
    if (outcome.status != 0) {
        throw std::runtime_error(tool.filename().string() + " failed (exit status " +
                                 std::to_string(outcome.status) +
                                 "): " + store::without_secrets(last_lines(outcome.output, 4)));
    }
    return outcome.output;
}

}  // namespace exchanged::tools
