#include "tools/store/store_compare.hpp"

#include <type_traits>
#include <vector>

namespace exchanged::tools {
namespace {

// Lists the fields two rows disagree on: "leaves 5 vs 6, state 0 vs 1".
class FieldDiff {
  public:
    template <typename T>
    void operator()(const char* field, T a, T b) {
        if (a != b) {
            text_ += (text_.empty() ? "" : ", ") + std::string(field) + " " + number(a) + " vs " +
                     number(b);
        }
    }
    const std::string& str() const { return text_; }

  private:
    template <typename T>
    static std::string number(T value) {
        if constexpr (std::is_enum_v<T>) {
            return std::to_string(static_cast<unsigned>(value));
        } else {
            return std::to_string(value);
        }
    }
    std::string text_;
};

std::string diff(const store::StoredOrder& a, const store::StoredOrder& b) {
    FieldDiff d;
    d("account", a.account, b.account);
    d("instrument", a.instrument, b.instrument);
    d("client_order_id", a.client_order_id, b.client_order_id);
    d("side", a.side, b.side);
    d("price", a.price, b.price);
    d("quantity", a.quantity, b.quantity);
    d("leaves", a.leaves, b.leaves);
    d("executed", a.executed, b.executed);
    d("state", a.state, b.state);
    d("flags", a.flags, b.flags);
    d("priority", a.priority, b.priority);
    d("accepted_lsn", a.accepted_lsn, b.accepted_lsn);
    d("finished_lsn", a.finished_lsn, b.finished_lsn);
    return d.str();
}

std::string diff(const store::StoredTrade& a, const store::StoredTrade& b) {
    FieldDiff d;
    d("instrument", a.instrument, b.instrument);
    d("price", a.price, b.price);
    d("quantity", a.quantity, b.quantity);
    d("taker_order_id", a.taker_order_id, b.taker_order_id);
    d("taker_account", a.taker_account, b.taker_account);
    d("taker_side", a.taker_side, b.taker_side);
    d("maker_order_id", a.maker_order_id, b.maker_order_id);
    d("maker_account", a.maker_account, b.maker_account);
    d("maker_side", a.maker_side, b.maker_side);
    d("lsn", a.lsn, b.lsn);
    d("seq", a.seq, b.seq);
    d("timestamp_ns", a.timestamp_ns, b.timestamp_ns);
    return d.str();
}

// Merges two row lists sorted by (shard, id): a row on one side only fails, as does a pair that
// differs in any field.
template <typename Row>
void compare_rows(const std::vector<Row>& a, const std::string& a_name, const std::vector<Row>& b,
                  const std::string& b_name, const char* what, CheckResult& check) {
    const auto label = [&](const Row& row) {
        return std::string(what) + " " + std::to_string(std::get<1>(row_key(row))) + " of shard " +
               std::to_string(std::get<0>(row_key(row)));
    };
    std::size_t i = 0;
    std::size_t j = 0;
    while (i < a.size() || j < b.size()) {
        if (j == b.size() || (i < a.size() && row_key(a[i]) < row_key(b[j]))) {
            check.fail(label(a[i++]) + ": in the " + a_name + ", not in the " + b_name);
        } else if (i == a.size() || row_key(b[j]) < row_key(a[i])) {
            check.fail(label(b[j++]) + ": in the " + b_name + ", not in the " + a_name);
        } else {
            const std::string differences = diff(a[i], b[j]);
            if (differences.empty()) {
                check.pass();
            } else {
                check.fail(label(a[i]) + ": " + differences + " (" + a_name + " vs " + b_name +
                           ")");
            }
            ++i;
            ++j;
        }
    }
}

}  // namespace

CheckResult compare_orders(const StoreRows& a, const std::string& a_name, const StoreRows& b,
                           const std::string& b_name) {
    CheckResult check(a_name + " vs " + b_name + ": orders");
    compare_rows(a.orders, a_name, b.orders, b_name, "order", check);
    return check;
}

CheckResult compare_trades(const StoreRows& a, const std::string& a_name, const StoreRows& b,
                           const std::string& b_name) {
    CheckResult check(a_name + " vs " + b_name + ": trades");
    compare_rows(a.trades, a_name, b.trades, b_name, "trade", check);
    return check;
}

}  // namespace exchanged::tools
