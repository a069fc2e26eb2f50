// Names and ids of a profile's accounts and instruments: the journal names accounts, the store
// numbers them, and the checks between the two translate both ways and print names for people.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "common/types.hpp"
#include "config/config.hpp"

namespace exchanged::tools {

class ProfileNames {
  public:
    explicit ProfileNames(const exchanged::Config& profile);

    std::optional<AccountId> account_id(const std::string& name) const;
    // "alice(1)", or "account 7" for an id the profile does not have.
    std::string account(AccountId id) const;
    // "AMZN", or "instrument 9" for an id the profile does not have.
    std::string instrument(InstrumentId id) const;

  private:
    std::map<std::string, AccountId> account_ids_;
    std::map<AccountId, std::string> account_names_;
    std::map<InstrumentId, std::string> instrument_names_;
};

}  // namespace exchanged::tools
