// A short, human-readable account of a loaded profile for `exchanged --check-config`: what an
// acknowledgement waits for and what a crash may lose, rather than a dump of every key.
#pragma once

#include <string>

#include "config/config.hpp"

namespace exchanged {

// What a crash can lose of the orders a client already saw acknowledged.
std::string describe_loss_window(const Config& config);

// Several lines, each ending in '\n'.
std::string describe_config(const Config& config);

}  // namespace exchanged
