#include "tools/store/profile_names.hpp"

namespace exchanged::tools {

ProfileNames::ProfileNames(const exchanged::Config& profile) {
    for (const exchanged::AccountConfig& account : profile.accounts) {
        account_ids_.emplace(account.name, account.id);
        account_names_.emplace(account.id, account.name);
    }
    for (const book::InstrumentSpec& spec : profile.instruments) {
        instrument_names_.emplace(spec.id, spec.symbol);
    }
}

std::optional<AccountId> ProfileNames::account_id(const std::string& name) const {
    const auto it = account_ids_.find(name);
    return it == account_ids_.end() ? std::nullopt : std::optional<AccountId>(it->second);
}

std::string ProfileNames::account(AccountId id) const {
    const auto it = account_names_.find(id);
    return it == account_names_.end() ? "account " + std::to_string(id)
                                      : it->second + "(" + std::to_string(id) + ")";
}

std::string ProfileNames::instrument(InstrumentId id) const {
    const auto it = instrument_names_.find(id);
    return it == instrument_names_.end() ? "instrument " + std::to_string(id) : it->second;
}

}  // namespace exchanged::tools
