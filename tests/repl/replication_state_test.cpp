#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "../engine/temp_file.hpp"
#include "common/crc32c.hpp"
#include "repl/replication_state.hpp"

using namespace exchanged;
using namespace exchanged::repl;

namespace {

std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_text(const std::filesystem::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

std::string error_of(const std::filesystem::path& path) {
    try {
        read_replication_state(path);
    } catch (const ReplicationStateError& error) {
        return error.what();
    }
    return "";
}

}  // namespace

TEST_CASE("the replication state survives a write and a read", "[repl][state]") {
    test::TempDir dir;
    const auto path = replication_state_path(dir.path());
    CHECK_FALSE(read_replication_state(path).has_value());
    const ReplicationState promised{3, StateRole::Follower, 2};
    write_replication_state(path, promised);
    CHECK(read_replication_state(path) == promised);
    const ReplicationState leading{4, StateRole::Leader, 1};
    write_replication_state(path, leading);
    CHECK(read_replication_state(path) == leading);
    CHECK_FALSE(std::filesystem::exists(path.string() + ".tmp"));
}

TEST_CASE("a damaged replication state is refused naming the file", "[repl][state]") {
    test::TempDir dir;
    const auto path = replication_state_path(dir.path());
    write_replication_state(path, ReplicationState{7, StateRole::Leader, 3});
    const std::string good = read_text(path);

    SECTION("empty") {
        write_text(path, "");
        CHECK_THAT(error_of(path), Catch::Contains(path.string()) && Catch::Contains("short"));
    }
    SECTION("cut short") {
        write_text(path, good.substr(0, good.size() / 2));
        CHECK_THAT(error_of(path), Catch::Contains(path.string()) && Catch::Contains("damaged"));
    }
    SECTION("the last byte missing") {
        write_text(path, good.substr(0, good.size() - 1));
        CHECK_THAT(error_of(path), Catch::Contains("damaged"));
    }
    SECTION("a flipped digit") {
        std::string bad = good;
        bad[bad.find("epoch=7") + 6] = '8';
        write_text(path, bad);
        CHECK_THAT(error_of(path), Catch::Contains(path.string()) && Catch::Contains("crc"));
    }
    SECTION("another file") {
        write_text(path, "hello\ncrc=00000000\n");
        CHECK_THAT(error_of(path), Catch::Contains("damaged") || Catch::Contains("not a"));
    }
}

TEST_CASE("decoding checks every field behind a good crc", "[repl][state]") {
    const std::string text = encode_replication_state({2, StateRole::Follower, 1});
    CHECK(decode_replication_state(text, "x") == ReplicationState{2, StateRole::Follower, 1});
    const auto sealed = [](const std::string& body) {
        char hex[9];
        std::snprintf(hex, sizeof(hex), "%08x", crc32c(body.data(), body.size()));
        return body + "crc=" + hex + "\n";
    };
    const std::string head = "exchanged replication state v1\n";
    CHECK_THROWS_WITH(
        decode_replication_state(sealed(head + "epoch=0\nrole=leader\nleader=1\n"), "f"),
        Catch::Contains("f: epoch 0"));
    CHECK_THROWS_WITH(
        decode_replication_state(sealed(head + "epoch=2\nrole=boss\nleader=1\n"), "f"),
        Catch::Contains("role 'boss'"));
    CHECK_THROWS_WITH(
        decode_replication_state(sealed(head + "epoch=x\nrole=leader\nleader=1\n"), "f"),
        Catch::Contains("f: epoch is not a number"));
    CHECK_THROWS_WITH(decode_replication_state(sealed(head + "role=leader\n"), "f"),
                      Catch::Contains("expected 'epoch=...'"));
    CHECK_THROWS_WITH(decode_replication_state(sealed("v0\nepoch=1\n"), "f"),
                      Catch::Contains("not a replication state file"));
}
