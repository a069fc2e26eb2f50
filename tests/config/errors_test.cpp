// Every class of configuration mistake refuses with a message naming file, line and key.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "config/config.hpp"
#include "config/summary.hpp"
#include "minimal_config.hpp"
#include "temp_file.hpp"

using namespace exchanged;
using exchanged::test::TempDir;

namespace {

const std::string& kTail = exchanged::test::kMinimalConfigTail;

struct Failure {
    std::string path;
    ConfigError error;
};

Failure load_failure(const TempDir& dir, const std::string& text) {
    const std::string path = dir.write("bad.ini", text);
    try {
        load_config(path);
    } catch (const ConfigError& error) {
        return {path, error};
    }
    FAIL("expected a ConfigError for:\n" << text);
    throw std::logic_error("unreachable");
}

// Checks that the message starts with "path:line: " and contains `where` and `what`.
void check_failure(const std::string& text, int line, const std::string& where,
                   const std::string& what) {
    TempDir dir;
    const Failure failure = load_failure(dir, text);
    const std::string message = failure.error.what();
    INFO(message);
    const std::string prefix =
        failure.path + (line > 0 ? ":" + std::to_string(line) : std::string()) + ": ";
    CHECK(message.rfind(prefix, 0) == 0);
    CHECK(failure.error.line() == line);
    CHECK(message.find(where) != std::string::npos);
    CHECK(message.find(what) != std::string::npos);
}

}  // namespace

TEST_CASE("the minimal file loads with defaults", "[config][errors]") {
    TempDir dir;
    const Config config = load_config(dir.write("ok.ini", kTail));
    CHECK(config.server.listen.port == 9100);
    CHECK(config.server.admin_listen.port == 0);  // off unless set
    CHECK(config.persistence.mode == PersistenceMode::WalBatch);
    CHECK(config.persistence.ack_after == AckPoint::Wal);
    CHECK(config.instruments.size() == 1);
    CHECK(config.accounts.size() == 1);
}

TEST_CASE("admin_listen port 0 turns the endpoint off, the gateway needs a real port",
          "[config][errors]") {
    TempDir dir;
    const Config off =
        load_config(dir.write("off.ini", "[server]\nadmin_listen = 127.0.0.1:0\n" + kTail));
    CHECK(off.server.admin_listen.port == 0);
    check_failure("[server]\nlisten = 127.0.0.1:0\n" + kTail, 2, "[server] listen",
                  "port: 0 is outside 1..65535");
}

TEST_CASE("an unknown section refuses at its header", "[config][errors]") {
    check_failure("[server]\nio_threads = 1\n[sever]\n" + kTail, 3, "[sever]", "unknown section");
    check_failure("[matching]\n" + kTail, 1, "[matching]", "unknown section");
}

TEST_CASE("an unknown key refuses and lists the known ones", "[config][errors]") {
    check_failure("[persistence]\nbath_size = 100\n" + kTail, 2, "[persistence] bath_size",
                  "unknown key (known in [persistence]: mode, ack_after, batch_size");
}

TEST_CASE("a key outside any section refuses", "[config][errors]") {
    check_failure("io_threads = 1\n" + kTail, 1, "io_threads", "key outside any section");
}

TEST_CASE("a duplicate key refuses, naming the first line", "[config][errors]") {
    check_failure("[server]\nio_threads = 1\nshards = 1\nio_threads = 2\n" + kTail, 4,
                  "[server] io_threads", "duplicate key (first set on line 2)");
    // Indented lines are not continuations of the previous value.
    check_failure("[server]\nio_threads = 1\n    io_threads = 2\n" + kTail, 3,
                  "[server] io_threads", "duplicate key");
    check_failure(kTail + "alice = id=2 secret=x\n", 5, "[accounts] alice", "duplicate key");
    check_failure("[server]\nshards = 1\n[server]\nshards = 1\n" + kTail, 4, "[server] shards",
                  "duplicate key");
}

TEST_CASE("a bad whole number refuses with the range", "[config][errors]") {
    check_failure("[persistence]\nbatch_size = abc\n" + kTail, 2, "[persistence] batch_size",
                  "'abc' is not a whole number (expected 1..1000000)");
    check_failure("[persistence]\nbatch_size = -5\n" + kTail, 2, "[persistence] batch_size",
                  "not a whole number");
    check_failure("[persistence]\nbatch_size = 10 # why\n" + kTail, 2, "[persistence] batch_size",
                  "not a whole number");
}

TEST_CASE("an out-of-range number refuses with the range", "[config][errors]") {
    check_failure("[server]\nio_threads = 0\n" + kTail, 2, "[server] io_threads",
                  "0 is outside 1..64");
    check_failure("[server]\nmax_sessions = 99999999999999999999999\n" + kTail, 2,
                  "[server] max_sessions", "is outside 1..100000");
    check_failure("[persistence]\nwal_segment_bytes = 1048577\n" + kTail, 2,
                  "[persistence] wal_segment_bytes", "not a multiple of 4096");
    check_failure("[persistence]\nwal_max_recycled_segments = 65\n" + kTail, 2,
                  "[persistence] wal_max_recycled_segments", "65 is outside 0..64");
    check_failure("[persistence]\nwal_max_recycled_segments = -1\n" + kTail, 2,
                  "[persistence] wal_max_recycled_segments", "not a whole number");
    check_failure("[safety]\ncheckpoint_interval = 0\n" + kTail, 2, "[safety] checkpoint_interval",
                  "0 is outside 1..1000000000");
}

TEST_CASE("a bad boolean refuses", "[config][errors]") {
    check_failure("[server]\npin_cpus = maybe\n" + kTail, 2, "[server] pin_cpus",
                  "'maybe' is not a boolean");
}

TEST_CASE("bad choices and endpoints refuse", "[config][errors]") {
    check_failure("[persistence]\nmode = fast\n" + kTail, 2, "[persistence] mode",
                  "'fast' is not one of async | hybrid_sync | wal_batch | batch_sync");
    check_failure("[persistence]\nack_after = quorum\n" + kTail, 2, "[persistence] ack_after",
                  "ack_after = quorum needs [replication] enabled = true and role = leader");
    check_failure("[persistence]\nwal_compression = lz4\n" + kTail, 2,
                  "[persistence] wal_compression", "'lz4' is not supported yet");
    check_failure("[server]\nlisten = 127.0.0.1:70000\n" + kTail, 2, "[server] listen",
                  "is not HOST:PORT");
    check_failure("[logging]\nlevel = loud\n" + kTail, 2, "[logging] level", "is not one of");
}

TEST_CASE("a bad instrument spec refuses with its symbol", "[config][errors]") {
    const std::string accounts = "[accounts]\nalice = id=1 secret=x\n";
    check_failure(
        "[instruments]\nAMZN = id=1 tick_size=100 lot_size=1 min_price=1000050 "
        "max_price=4000000 max_order_quantity=1000000\n" +
            accounts,
        2, "[instruments] AMZN", "multiples of tick_size");
    check_failure(
        "[instruments]\nAMZN = id=1 tick_size=100 lot_size=1 min_price=1000000 "
        "max_price=4000000\n" +
            accounts,
        2, "[instruments] AMZN", "attribute max_order_quantity is missing");
    check_failure("[instruments]\nAMZN = id=1 tick=100\n" + accounts, 2, "[instruments] AMZN",
                  "unknown attribute 'tick'");
    check_failure("[instruments]\nAMZN = id=70000 tick_size=1\n" + accounts, 2,
                  "[instruments] AMZN", "id: 70000 is outside 0..65535");
    check_failure("[instruments]\nAM ZN = id=1\n" + accounts, 2, "[instruments] AM ZN",
                  "may hold only letters");
}

TEST_CASE("a duplicate instrument id refuses, naming the first user", "[config][errors]") {
    check_failure(kTail +
                      "[instruments]\nAAPL = id=1 tick_size=100 lot_size=1 min_price=500000 "
                      "max_price=3000000 max_order_quantity=1000\n",
                  6, "[instruments] AAPL", "id 1 is already used by AMZN (line 2)");
}

TEST_CASE("account mistakes refuse without echoing secrets", "[config][errors]") {
    const std::string instruments =
        "[instruments]\nAMZN = id=1 tick_size=100 lot_size=1 min_price=1000000 "
        "max_price=4000000 max_order_quantity=1000000\n";
    check_failure(instruments + "[accounts]\nalice = id=1 secret=\n", 4, "[accounts] alice",
                  "secret must not be empty");
    check_failure(instruments + "[accounts]\nalice = id=1\n", 4, "[accounts] alice",
                  "attribute secret is missing");
    check_failure(instruments + "[engine]\nmax_accounts = 10\n[accounts]\nalice = id=10 secret=x\n",
                  6, "[accounts] alice", "id 10 is not below [engine] max_accounts (10)");
    check_failure(instruments + "[accounts]\nalice = id=1 secret=a\nbob = id=1 secret=b\n", 5,
                  "[accounts] bob", "id 1 is already used by alice (line 4)");
    check_failure(instruments + "[accounts]\nalice = id=1 secret=x self_trade=never\n", 4,
                  "[accounts] alice", "self_trade: 'never' is not one of");

    TempDir dir;
    const Failure failure =
        load_failure(dir, instruments + "[accounts]\nalice = id=1 secret= hunter2-secret\n");
    CHECK(std::string(failure.error.what()).find("hunter2") == std::string::npos);
}

TEST_CASE("replication's keys refuse what cannot form a cluster, naming the key",
          "[config][errors]") {
    const std::string three = "[replication]\nenabled = true\nnode_id = 1\nfactor = 3\n";
    check_failure(three + "peers = 2@127.0.0.1:9301\n" + kTail, 4, "[replication] factor",
                  "factor 3 needs 2 peers, [replication] peers lists 1");
    check_failure("[replication]\nenabled = true\nfactor = 2\npeers = 2@127.0.0.1:9301\n" + kTail,
                  3, "[replication] factor", "2 is even");
    check_failure(three + "peers = 2@127.0.0.1:9301, 2@127.0.0.1:9302\n" + kTail, 5,
                  "[replication] peers", "node id 2 is listed twice");
    check_failure(three + "peers = 1@127.0.0.1:9301, 2@127.0.0.1:9302\n" + kTail, 5,
                  "[replication] peers", "peer 1 has this node's own node_id");
    check_failure(three + "peers = 127.0.0.1:9301\n" + kTail, 5, "[replication] peers",
                  "is not id@host:port");
    check_failure(three + "peers = 9@127.0.0.1:9301\n" + kTail, 5, "[replication] peers",
                  "9 is outside 1..7");
    check_failure("[replication]\nnode_id = 8\n" + kTail, 2, "[replication] node_id",
                  "8 is outside 1..7");
    check_failure("[replication]\nrole = boss\n" + kTail, 2, "[replication] role",
                  "'boss' is not one of leader | follower");
    check_failure("[replication]\nmax_lag_bytes = 1000\n" + kTail, 2, "[replication] max_lag_bytes",
                  "1000 is outside 1048576..");
    check_failure("[server]\nlisten = 127.0.0.1:9300\n" + three + "listen = 127.0.0.1:9300\n" +
                      "peers = 2@127.0.0.1:9301, 3@127.0.0.1:9302\n" + kTail,
                  7, "[replication] listen", "[server] listen are both 127.0.0.1:9300");
    check_failure("[persistence]\nmode = async\n" + three +
                      "peers = 2@127.0.0.1:9301, 3@127.0.0.1:9302\n" + kTail,
                  4, "[replication] enabled", "needs [persistence] enable_wal = true");
    check_failure("[persistence]\nack_after = quorum\n" + three +
                      "role = follower\npeers = 2@127.0.0.1:9301, 3@127.0.0.1:9302\n" + kTail,
                  2, "[persistence] ack_after", "role = leader");
}

TEST_CASE("missing instruments or accounts refuse", "[config][errors]") {
    check_failure("[server]\nshards = 1\n[accounts]\nalice = id=1 secret=x\n", 0, "[instruments]",
                  "at least one");
    check_failure(
        "[instruments]\nAMZN = id=1 tick_size=100 lot_size=1 min_price=1000000 "
        "max_price=4000000 max_order_quantity=1000000\n",
        0, "[accounts]", "at least one");
}

TEST_CASE("contradicting knobs refuse at the key that was set", "[config][errors]") {
    check_failure("[persistence]\nmode = wal_batch\nenable_wal = false\n" + kTail, 3,
                  "[persistence] enable_wal", "ack_after = wal needs enable_wal = true");
    check_failure("[persistence]\nmode = async\nack_after = wal\n" + kTail, 3,
                  "[persistence] ack_after", "needs enable_wal = true (mode async)");
    check_failure("[persistence]\nwal_sync = false\n" + kTail, 2, "[persistence] wal_sync",
                  "needs wal_sync = true");
    check_failure("[persistence]\nstore = postgresql\n" + kTail, 2, "[persistence] store",
                  "store = postgresql needs store_dsn");
    check_failure("[server]\nshards = 2\n" + kTail, 2, "[server] shards",
                  "2 shards for 1 instruments");
    check_failure("[server]\nadmin_listen = 127.0.0.1:9100\n" + kTail, 2, "[server] admin_listen",
                  "admin_listen and listen are both 127.0.0.1:9100");
}

// The WAL writer always fdatasyncs: a profile asking for an unsynced WAL must not start (nor have
// --check-config report "no fsync") as though it got one.
TEST_CASE("wal_sync = false with a WAL is refused", "[config][errors]") {
    check_failure("[persistence]\nmode = async\nenable_wal = true\nwal_sync = false\n" + kTail, 4,
                  "[persistence] wal_sync", "wal_sync = false is not supported");
    check_failure("[persistence]\nmode = batch_sync\nwal_sync = false\nenable_wal = true\n" + kTail,
                  3, "[persistence] wal_sync", "enable_wal = false to run without a WAL");
    // Without a WAL the key means nothing (hft.ini keeps it for a one-line switch).
    TempDir dir;
    const Config config = load_config(dir.write(
        "ok.ini",
        "[persistence]\nmode = batch_sync\nenable_wal = false\nwal_sync = false\n" + kTail));
    CHECK_FALSE(config.persistence.enable_wal);
}

TEST_CASE("max_unflushed_ms refuses where it cannot apply or could never be met",
          "[config][errors]") {
    // Acks after the WAL (standard) or the store: nothing acknowledged waits for the store alone.
    check_failure("[safety]\nmax_unflushed_ms = 10\n" + kTail, 2, "[safety] max_unflushed_ms",
                  "applies only to profiles that acknowledge before anything durable");
    check_failure(
        "[persistence]\nmode = async\nack_after = store\n[safety]\nmax_unflushed_ms = 10\n" + kTail,
        5, "[safety] max_unflushed_ms", "acknowledges after store");
    // Not above the store's batch timeout: each batch would refuse orders while it fills.
    check_failure(
        "[persistence]\nmode = batch_sync\nstore_batch_timeout_ms = 20\n[safety]\n"
        "max_unflushed_ms = 20\n" +
            kTail,
        5, "[safety] max_unflushed_ms",
        "20 ms is not above [persistence] store_batch_timeout_ms (20 ms)");
    check_failure("[persistence]\nmode = async\n[safety]\nmax_unflushed_ms = 600001\n" + kTail, 4,
                  "[safety] max_unflushed_ms", "600000");
}

TEST_CASE("syntax errors and unreadable files refuse", "[config][errors]") {
    check_failure("[server\nio_threads = 1\n" + kTail, 1, "", "cannot parse the line");
    check_failure("[server]\njust words\n" + kTail, 2, "", "cannot parse the line");
    check_failure("[server]\ndata_dir = " + std::string(300, 'x') + "\n" + kTail, 2, "",
                  "the line is longer than");
    CHECK_THROWS_WITH(load_config("/nonexistent/exchanged.ini"),
                      Catch::StartsWith("/nonexistent/exchanged.ini: cannot open"));
}

TEST_CASE("the Redis mirror's misconfigurations are refused, naming the key",
          "[config][errors][mirror]") {
    check_failure("[persistence]\nmode = double_write\n" + kTail, 0, "redis_address",
                  "ack_after = mirror needs redis_address");
    check_failure("[persistence]\nack_after = mirror\nenable_wal = false\n" + kTail, 2, "ack_after",
                  "needs redis_address");
    check_failure(
        "[persistence]\nmode = double_write\nredis_address = 127.0.0.1:6379\nenable_wal = true\n" +
            kTail,
        4, "enable_wal", "replaces the WAL");
    check_failure("[persistence]\nmode = async\nredis_address = 127.0.0.1:6379\n" + kTail, 3,
                  "redis_address", "acks do not wait for the mirror");
    check_failure("[persistence]\nredis_timeout_ms = 5\n" + kTail, 2, "redis_timeout_ms",
                  "applies only with redis_address");
    check_failure(
        "[persistence]\nmode = double_write\nredis_address = 127.0.0.1:6379\n"
        "redis_queue_records = 1000\n" +
            kTail,
        4, "redis_queue_records", "not a power of two");
    check_failure(
        "[persistence]\nmode = double_write\nredis_address = 127.0.0.1:6379\n"
        "redis_key_prefix = has blank\n" +
            kTail,
        4, "redis_key_prefix", "blank");
    check_failure("[persistence]\nredis_hold_limit_ms = 5000\n" + kTail, 2, "redis_hold_limit_ms",
                  "applies only with redis_address");
    check_failure(
        "[persistence]\nmode = double_write\nredis_address = 127.0.0.1:6379\n"
        "redis_hold_limit_ms = 0\n" +
            kTail,
        4, "redis_hold_limit_ms", "100");
    check_failure(
        "[persistence]\nmode = double_write\nredis_address = 127.0.0.1:6379\n"
        "redis_timeout_ms = 2000\nredis_hold_limit_ms = 2000\n" +
            kTail,
        5, "redis_hold_limit_ms", "must be above redis_timeout_ms (2000)");
    // Only the timeout set: the rule is reported on its line.
    check_failure(
        "[persistence]\nmode = double_write\nredis_address = 127.0.0.1:6379\n"
        "redis_timeout_ms = 10000\n" +
            kTail,
        4, "redis_timeout_ms", "redis_hold_limit_ms (10000) must be above");
}

TEST_CASE("the automatic failover keys refuse what cannot elect a leader, naming the key",
          "[config][errors]") {
    const std::string three =
        "[server]\nadmin_listen = 127.0.0.1:9101\n[replication]\nenabled = true\nnode_id = 1\n"
        "factor = 3\npeers = 2@127.0.0.1:9301, 3@127.0.0.1:9302\n";
    const std::string admins = "admins = 1@127.0.0.1:9101, 2@127.0.0.1:9201, 3@127.0.0.1:9301\n";
    check_failure(three + "etcd_endpoints = https://10.0.0.5:2379, http://10.0.0.6:2379\n" + kTail,
                  8, "[replication] etcd_endpoints", "mix http:// and https://");
    check_failure(three + "etcd_endpoints = 10.0.0.5:2379\n" + kTail, 8,
                  "[replication] etcd_endpoints", "'10.0.0.5:2379' is not http://host:port");
    check_failure(three + "etcd_endpoints = http://10.0.0.5\n" + kTail, 8,
                  "[replication] etcd_endpoints", "10.0.0.5");
    check_failure(three + "lease_ttl_ms = 500\n" + kTail, 8, "[replication] lease_ttl_ms",
                  "500 is outside 1000..");
    check_failure(three + "lease_ttl_ms = 2500\n" + kTail, 8, "[replication] lease_ttl_ms",
                  "2500 is not whole seconds");
    check_failure(three + "etcd_key = leader\n" + kTail, 8, "[replication] etcd_key",
                  "'leader' is not a key starting with '/'");
    check_failure(three + "etcd_endpoints = http://127.0.0.1:2379\n" + kTail, 8,
                  "[replication] etcd_endpoints", "every node's admin address (factor 3)");
    check_failure(three + "etcd_endpoints = http://127.0.0.1:2379\n" +
                      "admins = 2@127.0.0.1:9201, 3@127.0.0.1:9301, 4@127.0.0.1:9401\n" + kTail,
                  9, "[replication] admins", "this node (node_id 1) is not listed");
    check_failure(
        "[replication]\nenabled = true\nnode_id = 1\nfactor = 3\n"
        "peers = 2@127.0.0.1:9301, 3@127.0.0.1:9302\n"
        "etcd_endpoints = http://127.0.0.1:2379\n" +
            admins + kTail,
        0, "[server] admin_listen", "needs an admin port");

    TempDir dir;
    const Config config = load_config(dir.write(
        "good.ini", three + "etcd_endpoints = http://127.0.0.1:2379, http://127.0.0.1:2381\n" +
                        admins + kTail));
    CHECK(config.replication.automatic_failover());
    CHECK(config.replication.etcd_endpoints.size() == 2);
    CHECK(config.replication.etcd_key == "/exchanged/leader");
    CHECK(config.replication.lease_ttl_ms == 2000);
    CHECK(config.replication.admins.size() == 3);
}

TEST_CASE(
    "etcd_user and etcd_password_file: the password comes from a file only its owner may "
    "read, without its newline, and is never printed",
    "[config][errors]") {
    const std::string three =
        "[server]\nadmin_listen = 127.0.0.1:9101\n[replication]\nenabled = true\nnode_id = 1\n"
        "factor = 3\npeers = 2@127.0.0.1:9301, 3@127.0.0.1:9302\n"
        "etcd_endpoints = http://127.0.0.1:2379\n"
        "admins = 1@127.0.0.1:9101, 2@127.0.0.1:9201, 3@127.0.0.1:9301\n";
    TempDir dir;
    const std::string file = dir.write("etcd-password", "s3cret\n");
    namespace fs = std::filesystem;
    fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write);

    const Config config = load_config(dir.write(
        "good.ini", three + "etcd_user = exch\netcd_password_file = " + file + "\n" + kTail));
    CHECK(config.replication.etcd_user == "exch");
    CHECK(config.replication.etcd_password == "s3cret");
    const std::string summary = describe_config(config);
    CHECK_THAT(summary, Catch::Contains("as etcd user exch (password from " + file + ")"));
    CHECK_THAT(summary, !Catch::Contains("s3cret"));

    // A group may read it (a service group); "\r\n" is stripped too.
    const std::string crlf = dir.write("crlf-password", "pw\r\n");
    fs::permissions(crlf, fs::perms::owner_read | fs::perms::group_read);
    CHECK(load_config(dir.write("crlf.ini", three + "etcd_user = exch\netcd_password_file = " +
                                                crlf + "\n" + kTail))
              .replication.etcd_password == "pw");

    fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write | fs::perms::others_read);
    check_failure(three + "etcd_user = exch\netcd_password_file = " + file + "\n" + kTail, 11,
                  "[replication] etcd_password_file",
                  "'" + file + "' has mode 0604: a password file must not be readable by others");
    fs::permissions(file, fs::perms::owner_read | fs::perms::group_write);
    check_failure(three + "etcd_user = exch\netcd_password_file = " + file + "\n" + kTail, 11,
                  "[replication] etcd_password_file", "has mode 0420");

    const std::string empty = dir.write("empty-password", "\n");
    fs::permissions(empty, fs::perms::owner_read);
    check_failure(three + "etcd_user = exch\netcd_password_file = " + empty + "\n" + kTail, 11,
                  "[replication] etcd_password_file", "holds no password");
    check_failure(three + "etcd_user = exch\netcd_password_file = " + file + ".missing\n" + kTail,
                  11, "[replication] etcd_password_file", "No such file or directory");
    check_failure(three + "etcd_user = exch\n" + kTail, 10, "[replication] etcd_user",
                  "etcd_user and etcd_password_file go together");
    check_failure(three + "etcd_password_file = " + file + "\n" + kTail, 10,
                  "[replication] etcd_password_file", "go together");
    check_failure(three + "etcd_user = has blank\n" + kTail, 10, "[replication] etcd_user",
                  "blank");
}

TEST_CASE(
    "etcd TLS files: only with https:// endpoints, a certificate with its key, the key private",
    "[config][errors]") {
    const std::string head =
        "[server]\nadmin_listen = 127.0.0.1:9101\n[replication]\nenabled = true\nnode_id = 1\n"
        "factor = 3\npeers = 2@127.0.0.1:9301, 3@127.0.0.1:9302\n"
        "admins = 1@127.0.0.1:9101, 2@127.0.0.1:9201, 3@127.0.0.1:9301\n";
    const std::string https = head + "etcd_endpoints = https://etcd1:2379, https://etcd2:2379\n";
    TempDir dir;
    namespace fs = std::filesystem;
    const std::string ca = dir.write("ca.pem", "ca\n");
    const std::string cert = dir.write("node.pem", "cert\n");
    const std::string key = dir.write("node-key.pem", "key\n");
    fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write);

    const Config config = load_config(
        dir.write("good.ini", https + "etcd_ca_file = " + ca + "\netcd_cert_file = " + cert +
                                  "\netcd_key_file = " + key + "\n" + kTail));
    CHECK(config.replication.etcd_tls());
    CHECK(config.replication.etcd_key_file == key);
    CHECK_THAT(describe_config(config),
               Catch::Contains("TLS trusting " + ca + ", client certificate " + cert));
    // No files: the system's CAs, no client certificate.
    const Config plain_tls = load_config(dir.write("system.ini", https + kTail));
    CHECK(plain_tls.replication.etcd_tls());
    CHECK_THAT(describe_config(plain_tls), Catch::Contains("TLS trusting the system's CAs"));

    check_failure(head + "etcd_endpoints = http://etcd1:2379\netcd_ca_file = " + ca + "\n" + kTail,
                  10, "[replication] etcd_ca_file", "without https:// etcd_endpoints");
    check_failure(https + "etcd_cert_file = " + cert + "\n" + kTail, 10,
                  "[replication] etcd_cert_file", "go together");
    check_failure(https + "etcd_ca_file = " + ca + ".missing\n" + kTail, 10,
                  "[replication] etcd_ca_file", "No such file or directory");
    check_failure(https + "etcd_ca_file = " + dir.path().string() + "\n" + kTail, 10,
                  "[replication] etcd_ca_file", "is not a regular file");
    fs::permissions(key, fs::perms::owner_read | fs::perms::others_read);
    check_failure(https + "etcd_cert_file = " + cert + "\netcd_key_file = " + key + "\n" + kTail,
                  11, "[replication] etcd_key_file",
                  "has mode 0404: a key file must not be readable by others");
}
