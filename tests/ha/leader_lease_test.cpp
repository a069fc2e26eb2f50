// LeaderLease's timing rules against a scripted etcd and a fake clock: the clock moves only when
// the test or a scripted call says so, so every instant below is exact.
#include <catch2/catch.hpp>
#include <deque>

#include "ha/leader_lease.hpp"

namespace exchanged::ha {

using namespace std::chrono_literals;

namespace {

struct FakeClock {
    LeaseClock::time_point now{std::chrono::hours(1000)};
    LeaderLease::Clock function() {
        return [this] { return now; };
    }
};

// Answers the calls LeaderLease makes from queues the test fills; each call takes `latency` of
// fake time, as if the answer took that long to arrive.
class ScriptedEtcd final : public EtcdApi {
  public:
    explicit ScriptedEtcd(FakeClock& clock) : clock_(clock) {}

    LeaseClock::duration latency = 0ms;
    std::int64_t granted_ttl = 2;
    std::deque<std::int64_t> keepalive_ttls;  // empty: throws as if etcd were unreachable
    std::deque<TxnResult> txn_answers;        // empty: succeeded at revision 100
    std::vector<std::int64_t> revoked;

    RangeResult range(std::string_view) override { return {}; }
    TxnResult txn(const Txn&) override {
        clock_.now += latency;
        if (txn_answers.empty()) {
            TxnResult ok;
            ok.succeeded = true;
            ok.revision = 100;
            return ok;
        }
        TxnResult answer = txn_answers.front();
        txn_answers.pop_front();
        return answer;
    }
    std::int64_t delete_range(std::string_view) override { return 0; }
    LeaseGrant lease_grant(std::int64_t) override {
        clock_.now += latency;
        return {++next_lease_, granted_ttl};
    }
    std::int64_t lease_keepalive(std::int64_t) override {
        clock_.now += latency;
        if (keepalive_ttls.empty()) {
            throw EtcdError("etcd /v3/lease/keepalive failed on every endpoint: scripted", true);
        }
        const std::int64_t ttl = keepalive_ttls.front();
        keepalive_ttls.pop_front();
        return ttl;
    }
    void lease_revoke(std::int64_t id) override { revoked.push_back(id); }

  private:
    FakeClock& clock_;
    std::int64_t next_lease_ = 0;
};

const LeaderRecord kSelf{"n1", "127.0.0.1:9001"};

}  // namespace

TEST_CASE("lease validity counts from the send time, not the answer time", "[leader_lease]") {
    FakeClock clock;
    ScriptedEtcd etcd(clock);
    etcd.latency = 300ms;  // each call's answer arrives 300 ms after it was sent
    LeaderLease lease(etcd, {"/l", 2s, std::nullopt}, clock.function());

    const LeaseClock::time_point grant_sent = clock.now;
    const CampaignResult won = lease.campaign(kSelf);
    REQUIRE(won.won);
    CHECK(won.epoch == 100);
    CHECK(lease.epoch() == 100);
    // Default margin: a quarter of the TTL.
    CHECK(lease.margin() == 500ms);
    CHECK(lease.valid_until() == grant_sent + 2s - 500ms);

    clock.now += 100ms;
    etcd.keepalive_ttls = {2};
    const LeaseClock::time_point renewal_sent = clock.now;
    REQUIRE(lease.renew().renewed);
    CHECK(clock.now == renewal_sent + 600ms);  // the keepalive and the confirming txn
    CHECK(lease.valid_until() == renewal_sent + 2s - 500ms);
    CHECK(lease.holds(renewal_sent + 1499ms));
    CHECK_FALSE(lease.holds(renewal_sent + 1500ms));
}

TEST_CASE("a configured margin replaces the default quarter of the TTL", "[leader_lease]") {
    FakeClock clock;
    ScriptedEtcd etcd(clock);
    LeaderLease lease(etcd, {"/l", 2s, 200ms}, clock.function());
    const LeaseClock::time_point sent = clock.now;
    REQUIRE(lease.campaign(kSelf).won);
    CHECK(lease.valid_until() == sent + 1800ms);
    // The TTL etcd granted counts, not the one asked for.
    etcd.granted_ttl = 5;
    REQUIRE(lease.campaign(kSelf).won);
    CHECK(lease.valid_until() == sent + 4800ms);
}

TEST_CASE("a renewal sent after the validity ended does not restore it", "[leader_lease]") {
    FakeClock clock;
    ScriptedEtcd etcd(clock);
    LeaderLease lease(etcd, {"/l", 2s, 500ms}, clock.function());
    REQUIRE(lease.campaign(kSelf).won);
    clock.now += 1500ms;  // exactly the end of the validity
    CHECK_FALSE(lease.holds());
    etcd.keepalive_ttls = {2, 2};
    const RenewResult late = lease.renew();
    CHECK_FALSE(late.renewed);
    CHECK_THAT(late.failure, Catch::Contains("after the lease's validity had ended"));
    CHECK_FALSE(lease.valid_until().has_value());
    // Lost stays lost: only a new campaign leads again.
    CHECK_FALSE(lease.renew().renewed);
    CHECK_FALSE(lease.holds());
}

TEST_CASE("a renewal answered without a TTL loses the lease at once", "[leader_lease]") {
    FakeClock clock;
    ScriptedEtcd etcd(clock);
    LeaderLease lease(etcd, {"/l", 2s, 500ms}, clock.function());
    REQUIRE(lease.campaign(kSelf).won);
    clock.now += 100ms;
    etcd.keepalive_ttls = {0, 2};
    const RenewResult gone = lease.renew();
    CHECK_FALSE(gone.renewed);
    CHECK_THAT(gone.failure, Catch::Contains("no longer knows lease"));
    CHECK_FALSE(lease.holds());
    CHECK_FALSE(lease.renew().renewed);
    CHECK_FALSE(lease.holds());
}

TEST_CASE("a failed renewal keeps the validity it had, which then runs out", "[leader_lease]") {
    FakeClock clock;
    ScriptedEtcd etcd(clock);
    LeaderLease lease(etcd, {"/l", 2s, 500ms}, clock.function());
    const LeaseClock::time_point sent = clock.now;
    REQUIRE(lease.campaign(kSelf).won);
    clock.now += 500ms;
    const RenewResult failed = lease.renew();  // no scripted answer: etcd unreachable
    CHECK_FALSE(failed.renewed);
    CHECK_THAT(failed.failure, Catch::Contains("failed on every endpoint"));
    CHECK(lease.valid_until() == sent + 1500ms);
    CHECK(lease.holds(sent + 1499ms));
    CHECK_FALSE(lease.holds(sent + 1500ms));
}

TEST_CASE("a renewal whose key no longer holds this node's record loses the lease",
          "[leader_lease]") {
    FakeClock clock;
    ScriptedEtcd etcd(clock);
    LeaderLease lease(etcd, {"/l", 2s, 500ms}, clock.function());
    REQUIRE(lease.campaign(kSelf).won);
    etcd.keepalive_ttls = {2};
    etcd.txn_answers = {TxnResult{}};  // the confirming compare failed
    const RenewResult taken = lease.renew();
    CHECK_FALSE(taken.renewed);
    CHECK_THAT(taken.failure, Catch::Contains("no longer holds this node's record at epoch 100"));
    CHECK_FALSE(lease.holds());
}

TEST_CASE("a lost campaign reports the holder and revokes its own lease", "[leader_lease]") {
    FakeClock clock;
    ScriptedEtcd etcd(clock);
    LeaderLease lease(etcd, {"/l", 2s, std::nullopt}, clock.function());
    TxnResult lost;
    lost.revision = 7;
    TxnOpResult range;
    range.kvs.push_back({"/l", encode_leader_record({"n2", "h:2"}), 5, 5, 1, 99});
    lost.responses.push_back(range);
    etcd.txn_answers = {lost};
    const CampaignResult result = lease.campaign(kSelf);
    CHECK_FALSE(result.won);
    REQUIRE(result.holder.has_value());
    CHECK(decode_leader_record(result.holder->value) == LeaderRecord{"n2", "h:2"});
    CHECK(etcd.revoked == std::vector<std::int64_t>{1});
    CHECK_FALSE(lease.holds());
    CHECK(lease.epoch() == 0);
}

TEST_CASE("leader lease options are checked", "[leader_lease]") {
    FakeClock clock;
    ScriptedEtcd etcd(clock);
    CHECK_THROWS_WITH(LeaderLease(etcd, {"", 2s, std::nullopt}, clock.function()),
                      Catch::Contains("key is empty"));
    CHECK_THROWS_WITH(LeaderLease(etcd, {"/l", 0s, std::nullopt}, clock.function()),
                      Catch::Contains("at least 1 s"));
    CHECK_THROWS_WITH(LeaderLease(etcd, {"/l", 2s, 2000ms}, clock.function()),
                      Catch::Contains("below the TTL"));
    CHECK_THROWS_WITH(LeaderLease(etcd, {"/l", 2s, -1ms}, clock.function()),
                      Catch::Contains("at least 0"));
}

TEST_CASE("leader records round-trip and foreign values are refused", "[leader_lease]") {
    const LeaderRecord record{"node-1", "10.0.0.1:9001"};
    CHECK(decode_leader_record(encode_leader_record(record)) == record);
    CHECK_FALSE(decode_leader_record("node-1").has_value());
    CHECK_FALSE(decode_leader_record(R"({"node_id":1,"address":"x"})").has_value());
    CHECK_FALSE(decode_leader_record(R"({"node_id":"n"})").has_value());
}

}  // namespace exchanged::ha
