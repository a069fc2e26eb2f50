#include "tools/client/reply_text.hpp"

#include "tools/client/client_profile.hpp"

namespace exchanged::tools {
namespace {

std::string str(std::string_view text) {
    return std::string(text);
}

}  // namespace

std::string reply_text(const exchanged::Config& profile, const net::Message& message) {
    const auto symbol = [&](InstrumentId id) { return instrument_name(profile, id); };
    if (const auto* a = std::get_if<net::Accepted>(&message)) {
        return "accepted order_id=" + std::to_string(a->order_id) +
               " client_order_id=" + std::to_string(a->client_order_id) + " " +
               symbol(a->instrument) + " " + str(side_name(a->side)) + " " +
               std::to_string(a->quantity) + " @ " +
               (a->price == 0 ? std::string("market") : format_price(a->price));
    }
    if (const auto* f = std::get_if<net::Fill>(&message)) {
        return "fill trade_id=" + std::to_string(f->trade_id) +
               " order_id=" + std::to_string(f->order_id) + " " + symbol(f->instrument) + " " +
               str(side_name(f->side)) + " " + std::to_string(f->quantity) + " @ " +
               format_price(f->price) + " leaves=" + std::to_string(f->leaves) + " " +
               str(net::to_string(f->liquidity));
    }
    if (const auto* c = std::get_if<net::Cancelled>(&message)) {
        return "cancelled order_id=" + std::to_string(c->order_id) +
               " client_order_id=" + std::to_string(c->client_order_id) + " " +
               symbol(c->instrument) + " qty=" + std::to_string(c->quantity) +
               " reason=" + str(book::to_string(c->reason));
    }
    if (const auto* r = std::get_if<net::Rejected>(&message)) {
        std::string text = "rejected " + str(net::to_string(r->request_type)) + " " +
                           symbol(r->instrument) + " client_id=" + std::to_string(r->client_id);
        if (r->order_id != 0) {
            text += " order_id=" + std::to_string(r->order_id);
        }
        return text + " reason=" + str(net::to_string(r->reason));
    }
    if (const auto* s = std::get_if<net::OrderStatus>(&message)) {
        std::string text = "status " + str(net::to_string(s->state)) + " " + symbol(s->instrument) +
                           " client_order_id=" + std::to_string(s->client_order_id);
        if (s->state != net::OrderState::NotFound) {
            text += " order_id=" + std::to_string(s->order_id);
        }
        if (s->state == net::OrderState::Resting) {
            text += " " + str(side_name(s->side)) + " leaves=" + std::to_string(s->leaves) + " @ " +
                    format_price(s->price);
        }
        return text;
    }
    return str(net::to_string(net::type_of(message)));
}

}  // namespace exchanged::tools
