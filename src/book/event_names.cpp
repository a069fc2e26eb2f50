#include "book/event.hpp"

namespace exchanged::book {

std::string_view to_string(EventType type) {
    switch (type) {
        case EventType::Accepted: return "accepted";
        case EventType::Rejected: return "rejected";
        case EventType::Trade: return "trade";
        case EventType::Cancelled: return "cancelled";
        case EventType::Replaced: return "replaced";
        case EventType::MassCancelled: return "mass_cancelled";
    }
    return "unknown_event";
}

std::string_view to_string(RejectReason reason) {
    switch (reason) {
        case RejectReason::None: return "none";
        case RejectReason::UnknownInstrument: return "unknown_instrument";
        case RejectReason::UnknownAccount: return "unknown_account";
        case RejectReason::InvalidSide: return "invalid_side";
        case RejectReason::InvalidOrderType: return "invalid_order_type";
        case RejectReason::InvalidTimeInForce: return "invalid_time_in_force";
        case RejectReason::InvalidSelfTradePrevention: return "invalid_self_trade_prevention";
        case RejectReason::InvalidFlags: return "invalid_flags";
        case RejectReason::InvalidQuantity: return "invalid_quantity";
        case RejectReason::QuantityOffLot: return "quantity_off_lot";
        case RejectReason::QuantityTooLarge: return "quantity_too_large";
        case RejectReason::InvalidPrice: return "invalid_price";
        case RejectReason::PriceOffTick: return "price_off_tick";
        case RejectReason::PriceOutsideBand: return "price_outside_band";
        case RejectReason::DuplicateClientOrderId: return "duplicate_client_order_id";
        case RejectReason::UnknownOrder: return "unknown_order";
        case RejectReason::NotYourOrder: return "not_your_order";
        case RejectReason::PostOnlyWouldCross: return "post_only_would_cross";
        case RejectReason::NoLiquidity: return "no_liquidity";
        case RejectReason::BookFull: return "book_full";
        case RejectReason::InvalidCommand: return "invalid_command";
        case RejectReason::Busy: return "busy";
        case RejectReason::Unavailable: return "unavailable";
    }
    return "unknown_reason";
}

std::string_view to_string(CancelReason reason) {
    switch (reason) {
        case CancelReason::None: return "none";
        case CancelReason::ClientRequest: return "client_request";
        case CancelReason::MassCancel: return "mass_cancel";
        case CancelReason::SelfTrade: return "self_trade";
        case CancelReason::ImmediateOrCancel: return "immediate_or_cancel";
        case CancelReason::FillOrKill: return "fill_or_kill";
    }
    return "unknown_reason";
}

}  // namespace exchanged::book
