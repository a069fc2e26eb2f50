#include "book/instrument_spec.hpp"

namespace exchanged::book {

std::string validate(const InstrumentSpec& spec) {
    if (spec.tick_size <= 0) {
        return "tick_size must be positive";
    }
    if (spec.lot_size <= 0) {
        return "lot_size must be positive";
    }
    if (spec.min_price <= 0 || spec.max_price < spec.min_price) {
        return "the price band needs 0 < min_price <= max_price";
    }
    if (spec.min_price % spec.tick_size != 0 || spec.max_price % spec.tick_size != 0) {
        return "min_price and max_price must be multiples of tick_size";
    }
    if ((spec.max_price - spec.min_price) / spec.tick_size + 1 > kMaxPriceLevels) {
        return "the price band holds more than " + std::to_string(kMaxPriceLevels) +
               " ticks; narrow it or raise tick_size";
    }
    if (spec.max_order_quantity <= 0 || spec.max_order_quantity % spec.lot_size != 0) {
        return "max_order_quantity must be a positive multiple of lot_size";
    }
    return {};
}

}  // namespace exchanged::book
