#include "tools/client/journal_contents.hpp"

#include <fstream>
#include <optional>
#include <stdexcept>
#include <string_view>

#include "tools/client/ack_journal.hpp"

namespace exchanged::tools {
namespace {

bool starts_with(std::string_view line, std::string_view prefix) {
    return line.substr(0, prefix.size()) == prefix;
}

}  // namespace

std::string JournalContents::summary() const {
    std::string text = std::to_string(lines) + " lines: " + std::to_string(accepted_lines) +
                       " accepted, " + std::to_string(fills.size()) + " fills, " +
                       std::to_string(cancelled_lines) + " cancelled, " +
                       std::to_string(rejected_lines) + " rejected";
    if (replaced_lines + mass_cancelled_lines > 0) {
        text += ", " + std::to_string(replaced_lines) + " replaced, " +
                std::to_string(mass_cancelled_lines) + " mass cancels";
    }
    if (check.duplicates() > 0) {
        text += " (" + std::to_string(check.duplicates()) + " repeats from other sessions)";
    }
    return text;
}

JournalContents read_journal(std::istream& in) {
    JournalContents journal;
    std::string line;
    for (std::size_t number = 1; std::getline(in, line); ++number) {
        journal.lines = number;
        const LineEffect effect = journal.check.add_line(number, line);
        journal.accepted_lines += starts_with(line, "accepted ") ? 1 : 0;
        journal.cancelled_lines += starts_with(line, "cancelled ") ? 1 : 0;
        journal.rejected_lines += starts_with(line, "rejected ") ? 1 : 0;
        journal.replaced_lines += starts_with(line, "replaced ") ? 1 : 0;
        journal.mass_cancelled_lines += starts_with(line, "mass_cancelled ") ? 1 : 0;
        // Another session's copy of a fill is the same trade: the store checks count it once.
        if (!starts_with(line, "fill ") || effect == LineEffect::Duplicate) {
            continue;
        }
        // A malformed line is already a failure of JournalCheck's; it has nothing to compare.
        std::string error;
        if (const std::optional<JournalRecord> r = parse_journal_line(line, error)) {
            journal.fills.push_back(JournalFill{number, r->account, r->instrument, r->trade_id,
                                                r->order_id, r->side, r->price, r->quantity,
                                                r->liquidity});
        }
    }
    journal.check.finish_journal();
    return journal;
}

JournalContents read_journal_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        throw std::runtime_error("--journal: cannot read '" + path + "'");
    }
    return read_journal(in);
}

}  // namespace exchanged::tools
