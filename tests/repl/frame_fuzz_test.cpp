// Randomized (seeded, so every run is the same) streams of valid frames cut into random chunks, and
// the same streams with random damage: the decoder yields exactly the frames before the damaged one
// and then refuses.
#include <catch2/catch.hpp>

#include <vector>

#include "../sanitizer_scale.hpp"
#include "common/random.hpp"
#include "frame_test_util.hpp"
#include "repl/frame_decoder.hpp"
#include "repl/frame_format.hpp"

using namespace exchanged;
using namespace exchanged::repl;
using exchanged::repl::test::OwnedFrame;

namespace {

struct Stream {
    std::vector<std::byte> bytes;
    std::vector<std::size_t> frame_ends;  // offset just past each frame
};

Stream random_stream(SplitMix64& rng) {
    Stream stream;
    wal::Lsn next = 1 + rng.below(1000);
    const std::size_t frames = 1 + rng.below(8);
    for (std::size_t f = 0; f < frames; ++f) {
        const Epoch epoch = rng.below(5);
        switch (rng.below(5)) {
            case 0: {
                // A valid Hello: its newest term holds its last record.
                const bool has_term = epoch > 0 && next > 1;
                Hello hello{
                    static_cast<NodeId>(rng.below(8)), epoch, next - 1, has_term ? epoch : 0, {}};
                if (has_term) {
                    hello.terms.push_back({epoch, 1 + rng.below(next - 1)});
                }
                encode_hello(hello, stream.bytes);
            } break;
            case 1: {
                RecordsFrameBuilder builder(stream.bytes, epoch, next);
                const std::size_t records = 1 + rng.below(6);
                for (std::size_t r = 0; r < records; ++r) {
                    std::vector<std::byte> payload(rng.below(300));
                    for (auto& b : payload) {
                        b = static_cast<std::byte>(rng.next());
                    }
                    builder.add(next++, static_cast<std::uint16_t>(rng.below(16)), payload);
                }
                builder.finish();
                break;
            }
            case 2:
                encode_ack({epoch, next - 1}, stream.bytes);
                break;
            case 3:
                encode_truncate({epoch, rng.below(next), rng.below(5), next + rng.below(100)},
                                stream.bytes);
                break;
            default:
                encode_refuse({epoch, static_cast<RefuseReason>(1 + rng.below(4)),
                               std::string(rng.below(250), 'r')},
                              stream.bytes);
        }
        stream.frame_ends.push_back(stream.bytes.size());
    }
    return stream;
}

std::vector<std::size_t> random_splits(SplitMix64& rng, std::size_t size) {
    std::vector<std::size_t> splits;
    std::size_t at = 0;
    while (true) {
        at += 1 + rng.below(200);
        if (at >= size) {
            return splits;
        }
        splits.push_back(at);
    }
}

}  // namespace

TEST_CASE("random frame streams decode the same in random chunks", "[repl][frame][fuzz]") {
    SplitMix64 rng(0x5eed'0016);
    for (int round = 0; round < exchanged::sanitizer::scaled(2000); ++round) {
        const Stream stream = random_stream(rng);
        FrameDecoder whole_decoder;
        std::vector<OwnedFrame> whole;
        REQUIRE(test::decode_split(whole_decoder, stream.bytes, {}, whole));
        REQUIRE(whole.size() == stream.frame_ends.size());

        FrameDecoder decoder;
        std::vector<OwnedFrame> chunked;
        REQUIRE(test::decode_split(decoder, stream.bytes, random_splits(rng, stream.bytes.size()),
                                   chunked));
        REQUIRE(chunked == whole);
        REQUIRE(decoder.buffered() == 0);
    }
}

TEST_CASE("random damage is refused after exactly the frames before it", "[repl][frame][fuzz]") {
    SplitMix64 rng(0xbad'f00d);
    for (int round = 0; round < exchanged::sanitizer::scaled(3000); ++round) {
        const Stream stream = random_stream(rng);
        FrameDecoder clean_decoder;
        std::vector<OwnedFrame> clean;
        REQUIRE(test::decode_split(clean_decoder, stream.bytes, {}, clean));

        std::vector<std::byte> damaged = stream.bytes;
        // One to four bytes changed inside one frame (never to the same value).
        const std::size_t at = rng.below(damaged.size());
        std::size_t frame = 0;
        while (stream.frame_ends[frame] <= at) {
            ++frame;
        }
        const std::size_t frame_end = stream.frame_ends[frame];
        const std::size_t changes = 1 + rng.below(4);
        for (std::size_t c = 0; c < changes; ++c) {
            const std::size_t where = std::min(at + rng.below(16), frame_end - 1);
            damaged[where] ^= static_cast<std::byte>(1 + rng.below(255));
        }
        if (damaged == stream.bytes) {
            continue;  // the changes cancelled out
        }
        FrameDecoder decoder;
        std::vector<OwnedFrame> frames;
        INFO("round " << round << " damage at " << at << " in frame " << frame);
        REQUIRE_FALSE(
            test::decode_split(decoder, damaged, random_splits(rng, damaged.size()), frames));
        REQUIRE(frames.size() == frame);
        REQUIRE(std::equal(frames.begin(), frames.end(), clean.begin()));
        CHECK(decoder.error() != FrameError::None);
    }
}
