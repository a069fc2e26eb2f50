#include "tools/cli/verdict.hpp"

#include <cstdio>
#include <exception>

#include "common/cli_args.hpp"
#include "tools/cli/exit_codes.hpp"

namespace exchanged::tools {

int run_to_verdict(const std::string& name, const std::function<int()>& run) {
    try {
        return run();
    } catch (const CliError&) {
        throw;
    } catch (const std::exception& error) {
        std::printf("%s: FAIL (%s)\n", name.c_str(), error.what());
        return kExitRefused;
    }
}

}  // namespace exchanged::tools
